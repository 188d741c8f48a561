//! `spec.auth` of a `PinotCluster`: Pinot's basic authentication, with passwords
//! kept in Secrets.

use kube::KubeSchema;
use serde::{Deserialize, Serialize};

/// Basic authentication on the controller API and broker queries. Every user exists on
/// both; servers and minions authenticate as `adminUser`, and so does the operator.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[x_kube(validation = Rule::new("self.users.exists(u, u.name == self.adminUser)")
    .message("auth.adminUser must name one of auth.users"))]
#[x_kube(validation = Rule::new("self.users.all(u, u.name != self.adminUser || (!has(u.permissions) && !has(u.tables)))")
    .message("auth.adminUser needs every permission on every table: leave its permissions and tables unset"))]
#[serde(rename_all = "camelCase")]
pub struct AuthSpec {
    /// Users (Pinot principals). Changing a password rolls the controllers and brokers;
    /// changing the admin's also rolls servers and minions.
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    #[schemars(length(min = 1, max = 32))]
    pub users: Vec<AuthUser>,
    /// The user with full rights that servers, minions and the operator act as.
    #[schemars(length(max = 64))]
    pub admin_user: String,
}

/// One Pinot user.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthUser {
    /// User name: letters, digits and '_' (it becomes part of Pinot property keys).
    #[x_kube(validation = Rule::new("self.matches('^[A-Za-z0-9_]{1,64}$')").message("user name may hold letters, digits and '_' (at most 64)"))]
    #[schemars(length(max = 64))]
    pub name: String,
    /// The Secret key (same namespace) holding the user's password.
    pub password_secret_ref: SecretKeyRef,
    /// Controller API rights. Unset: all of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 4))]
    pub permissions: Option<Vec<Permission>>,
    /// Raw names of the tables this user may use (controller API and queries). Unset: every table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 256))]
    pub tables: Option<Vec<String>>,
}

/// A right on the controller API.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, schemars::JsonSchema,
)]
pub enum Permission {
    Read,
    Create,
    Update,
    Delete,
}

impl Permission {
    /// The word Pinot's configuration uses.
    pub fn as_pinot(self) -> &'static str {
        match self {
            Permission::Read => "READ",
            Permission::Create => "CREATE",
            Permission::Update => "UPDATE",
            Permission::Delete => "DELETE",
        }
    }
}

/// One key of a Secret in the same namespace.
#[derive(
    Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, KubeSchema,
)]
pub struct SecretKeyRef {
    /// Secret name.
    #[x_kube(validation = Rule::new("self.matches('^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$')").message("must name an object in this namespace (lower-case letters, digits, '-', '.'): references never cross namespaces"))]
    #[schemars(length(max = 253))]
    pub name: String,
    /// Key in the Secret's data.
    #[x_kube(validation = Rule::new("self.matches('^[-._a-zA-Z0-9]+$')").message("a Secret key holds letters, digits, '-', '_' and '.'"))]
    #[schemars(length(max = 253))]
    pub key: String,
}
