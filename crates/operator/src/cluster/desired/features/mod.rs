//! The production settings that cut across roles (auth, TLS, deep storage, plugins):
//! each renders what it adds to a role's pods as [`additions::Additions`].

pub mod additions;
pub mod auth;
pub mod deep_storage;
pub mod plugins;
pub mod tls;
