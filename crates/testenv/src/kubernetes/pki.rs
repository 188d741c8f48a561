//! Certificates and keys for the control plane, generated fresh per environment.
//!
//! One self-signed CA signs everything: the apiserver's serving certificate and the
//! client certificates each component authenticates with (the apiserver maps a client
//! certificate's CN to the user and its O to groups). ECDSA P-256 keeps generation
//! instant; every Kubernetes component accepts it, including for service accounts.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use super::network::{BRIDGE_IP, KUBERNETES_SERVICE_IP};
use super::real_node::REAL_NODE_NAME;
use anyhow::Context;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};

/// A certificate and its private key as PEM files.
#[derive(Debug, Clone)]
pub struct CertFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Every file the control plane needs, all under one directory.
#[derive(Debug, Clone)]
pub struct Pki {
    pub ca: CertFiles,
    pub apiserver: CertFiles,
    pub admin: CertFiles,
    pub controller_manager: CertFiles,
    pub scheduler: CertFiles,
    /// The real node's kubelet (user `system:node:<name>` in `system:nodes`).
    pub kubelet: CertFiles,
    /// The real node's kube-proxy (`system:kube-proxy`, bound to `system:node-proxier`).
    pub kube_proxy: CertFiles,
    /// What the apiserver presents to kubelets for logs, exec and port-forward.
    pub apiserver_kubelet_client: CertFiles,
    /// Signs service-account tokens (apiserver) and legacy token secrets (controller-manager).
    pub service_account_key: PathBuf,
    /// Verifies them. A separate file because the apiserver reads EC private keys for
    /// verification only in SEC1 form, and rcgen writes PKCS#8.
    pub service_account_public_key: PathBuf,
}

impl Pki {
    /// Generates a new CA and the certificates signed by it into `dir`.
    pub fn generate(dir: &Path) -> anyhow::Result<Pki> {
        std::fs::create_dir_all(dir)?;
        let ca_key = KeyPair::generate()?;
        let ca_params = ca_params();
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let ca = write_pair(dir, "ca", &ca_cert.pem(), &ca_key)?;
        let issuer = Issuer::new(ca_params, ca_key);

        let apiserver = serving_cert(dir, &issuer)?;
        let admin = client_cert(
            dir,
            "admin",
            "testenv-admin",
            Some("system:masters"),
            &issuer,
        )?;
        let controller_manager = client_cert(
            dir,
            "kube-controller-manager",
            "system:kube-controller-manager",
            None,
            &issuer,
        )?;
        let scheduler = client_cert(
            dir,
            "kube-scheduler",
            "system:kube-scheduler",
            None,
            &issuer,
        )?;

        let kubelet = client_cert(
            dir,
            "kubelet",
            &format!("system:node:{REAL_NODE_NAME}"),
            Some("system:nodes"),
            &issuer,
        )?;
        let kube_proxy = client_cert(dir, "kube-proxy", "system:kube-proxy", None, &issuer)?;
        let apiserver_kubelet_client = client_cert(
            dir,
            "apiserver-kubelet-client",
            "kube-apiserver-kubelet-client",
            Some("system:masters"),
            &issuer,
        )?;

        let service_account_key = dir.join("service-account.key");
        let service_account_public_key = dir.join("service-account.pub");
        let sa_key = KeyPair::generate()?;
        write_key(&service_account_key, &sa_key)?;
        std::fs::write(&service_account_public_key, sa_key.public_key_pem())?;

        Ok(Pki {
            ca,
            apiserver,
            admin,
            controller_manager,
            scheduler,
            kubelet,
            kube_proxy,
            apiserver_kubelet_client,
            service_account_key,
            service_account_public_key,
        })
    }
}

fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = name("testenv-ca", None);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
}

/// The apiserver's certificate: valid for the loopback address clients dial, the bridge
/// address it listens on when a real node runs, and the names and IP the in-cluster
/// `kubernetes` Service is reached by.
fn serving_cert(dir: &Path, issuer: &Issuer<'_, KeyPair>) -> anyhow::Result<CertFiles> {
    let mut params = CertificateParams::new(vec![
        "localhost".to_owned(),
        "kubernetes".to_owned(),
        "kubernetes.default".to_owned(),
        "kubernetes.default.svc".to_owned(),
        "kubernetes.default.svc.cluster.local".to_owned(),
    ])?;
    params.subject_alt_names.extend([
        SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        SanType::IpAddress(IpAddr::V4(BRIDGE_IP)),
        SanType::IpAddress(IpAddr::V4(KUBERNETES_SERVICE_IP)),
    ]);
    params.distinguished_name = name("kube-apiserver", None);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    sign(dir, "apiserver", params, issuer)
}

/// A client certificate for `user`, optionally in `group`.
fn client_cert(
    dir: &Path,
    file: &str,
    user: &str,
    group: Option<&str>,
    issuer: &Issuer<'_, KeyPair>,
) -> anyhow::Result<CertFiles> {
    let mut params = CertificateParams::default();
    params.distinguished_name = name(user, group);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    sign(dir, file, params, issuer)
}

/// CN is the Kubernetes user name, O its group.
fn name(common_name: &str, organization: Option<&str>) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    if let Some(org) = organization {
        dn.push(DnType::OrganizationName, org);
    }
    dn
}

fn sign(
    dir: &Path,
    file: &str,
    params: CertificateParams,
    issuer: &Issuer<'_, KeyPair>,
) -> anyhow::Result<CertFiles> {
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, issuer)?;
    write_pair(dir, file, &cert.pem(), &key)
}

fn write_pair(dir: &Path, file: &str, cert_pem: &str, key: &KeyPair) -> anyhow::Result<CertFiles> {
    let files = CertFiles {
        cert: dir.join(format!("{file}.crt")),
        key: dir.join(format!("{file}.key")),
    };
    std::fs::write(&files.cert, cert_pem)
        .with_context(|| format!("write {}", files.cert.display()))?;
    write_key(&files.key, key)?;
    Ok(files)
}

fn write_key(path: &Path, key: &KeyPair) -> anyhow::Result<()> {
    std::fs::write(path, key.serialize_pem()).with_context(|| format!("write {}", path.display()))
}
