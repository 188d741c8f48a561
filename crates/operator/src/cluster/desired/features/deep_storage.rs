//! `spec.deepStorage` → the PinotFS and segment fetcher settings of every role that
//! reads or writes segments (controllers, servers, minions), with credentials from
//! Secrets as env vars or files, never as plain text in the `.conf`.

use api::auth::SecretKeyRef;
use api::deep_storage::DeepStorageSpec;
use k8s_openapi::api::core::v1::{
    ConfigMapVolumeSource, EnvVar, EnvVarSource, SecretKeySelector, Volume,
};

use super::additions::Additions;
use crate::cluster::component::Component;
use crate::cluster::desired::{read_only_mount, secret_key_volume};
use crate::secrets::SecretValues;

const FETCHER_CLASS: &str = "org.apache.pinot.common.utils.fetcher.PinotFSSegmentFetcher";
const GCS_KEY: &str = "/var/pinot/deep-storage/gcs/key.json";
const KEYTAB: &str = "/var/pinot/deep-storage/kerberos/keytab";
const HADOOP_CONF: &str = "/var/pinot/deep-storage/hadoop";

/// A remote store: URI scheme, PinotFS class, plugin directory and its options.
struct Store<'a> {
    uri: &'a str,
    scheme: &'static str,
    class: &'static str,
    options: Vec<(&'static str, String)>,
    /// Options whose value is a Secret key's.
    secret_options: Vec<(&'static str, SecretKeyRef)>,
}

/// Secret keys the storage credentials come from.
pub fn secret_refs(storage: Option<&DeepStorageSpec>) -> Vec<SecretKeyRef> {
    let Some(s) = storage else { return vec![] };
    let s3 =
        s.s3.iter()
            .flat_map(|s3| [&s3.access_key_id, &s3.secret_access_key]);
    s3.chain(s.gcs.iter().map(|g| &g.key_secret_ref))
        .chain(s.adls.iter().map(|a| &a.access_key))
        .chain(s.hdfs.iter().map(|h| &h.keytab))
        .flatten()
        .cloned()
        .collect()
}

/// The plugin the store needs loaded (for `plugins.include`).
pub fn plugin(storage: Option<&DeepStorageSpec>) -> Option<&'static str> {
    let s = storage?;
    [
        (s.s3.is_some(), "pinot-s3"),
        (s.gcs.is_some(), "pinot-gcs"),
        (s.adls.is_some(), "pinot-adls"),
        (s.hdfs.is_some(), "pinot-hdfs"),
    ]
    .into_iter()
    .find_map(|(set, name)| set.then_some(name))
}

/// What deep storage adds to `component`'s pods.
pub fn additions(
    storage: &DeepStorageSpec,
    component: Component,
    secrets: &SecretValues,
) -> Additions {
    let prefix = match component {
        Component::Controller => "pinot.controller",
        Component::Server => "pinot.server",
        Component::Minion => "pinot.minion",
        Component::Broker | Component::Zookeeper => return Additions::default(),
    };
    if let Some(local) = &storage.local {
        let mut out = Additions::default();
        if let (Component::Controller, Some(path)) = (component, &local.path) {
            out.properties
                .push(("controller.data.dir".into(), path.clone()));
        }
        return out;
    }
    let Some((store, mut out)) = store(storage) else {
        return Additions::default();
    };
    let factory = format!("{prefix}.storage.factory");
    let p = &mut out.properties;
    p.push((
        format!("{factory}.class.{}", store.scheme),
        store.class.into(),
    ));
    for (key, value) in &store.options {
        p.push((format!("{factory}.{}.{key}", store.scheme), value.clone()));
    }
    for (key, source) in &store.secret_options {
        let key = format!("{factory}.{}.{key}", store.scheme);
        let value = secrets.get(source).cloned().unwrap_or_default();
        out.secret_properties.push((key, value));
        out.secret_inputs.push(source.clone());
    }
    let p = &mut out.properties;
    p.push((
        format!("{prefix}.segment.fetcher.protocols"),
        format!("file,http,{}", store.scheme),
    ));
    p.push((
        format!("{prefix}.segment.fetcher.{}.class", store.scheme),
        FETCHER_CLASS.into(),
    ));
    match component {
        Component::Controller => {
            p.push(("controller.data.dir".into(), store.uri.into()));
            p.push((
                "controller.local.temp.dir".into(),
                "/var/pinot/controller/data/tmp".into(),
            ));
            // Servers upload completed realtime segments straight to the store.
            p.push(("controller.enable.split.commit".into(), "true".into()));
        }
        Component::Server => {
            p.push((
                "pinot.server.instance.segment.store.uri".into(),
                store.uri.into(),
            ));
            p.push((
                "pinot.server.instance.enable.split.commit".into(),
                "true".into(),
            ));
        }
        _ => {}
    }
    out
}

/// The store's settings plus the env vars and files every role using it needs.
fn store(storage: &DeepStorageSpec) -> Option<(Store<'_>, Additions)> {
    let mut files = Additions::default();
    if let Some(s3) = &storage.s3 {
        let mut options = vec![("region", s3.region.clone())];
        options.extend(s3.endpoint.iter().map(|e| ("endpoint", e.clone())));
        // The AWS SDK's default chain reads these before falling back to workload identity.
        for (var, source) in [
            ("AWS_ACCESS_KEY_ID", &s3.access_key_id),
            ("AWS_SECRET_ACCESS_KEY", &s3.secret_access_key),
        ] {
            if let Some(source) = source {
                files.env.push(secret_env(var, source));
                files.secret_inputs.push(source.clone());
            }
        }
        return Some((
            remote(
                &s3.uri,
                "s3",
                "org.apache.pinot.plugin.filesystem.S3PinotFS",
                options,
            ),
            files,
        ));
    }
    if let Some(gcs) = &storage.gcs {
        let mut options = vec![("projectId", gcs.project_id.clone())];
        if let Some(key) = &gcs.key_secret_ref {
            secret_file(&mut files, "gcs-key", key, GCS_KEY);
            options.push(("gcpKey", GCS_KEY.into()));
        }
        return Some((
            remote(
                &gcs.uri,
                "gs",
                "org.apache.pinot.plugin.filesystem.GcsPinotFS",
                options,
            ),
            files,
        ));
    }
    if let Some(adls) = &storage.adls {
        let options = vec![
            ("accountName", adls.account_name.clone()),
            ("fileSystemName", adls.file_system_name.clone()),
            ("enableChecksum", "true".into()),
        ];
        let mut store = remote(
            &adls.uri,
            "adl2",
            "org.apache.pinot.plugin.filesystem.ADLSGen2PinotFS",
            options,
        );
        if let Some(key) = &adls.access_key {
            store.secret_options.push(("accessKey", key.clone()));
        }
        return Some((store, files));
    }
    let hdfs = storage.hdfs.as_ref()?;
    let mut options = vec![];
    if let Some(config_map) = &hdfs.config_map_name {
        files.volumes.push(Volume {
            name: "hadoop-conf".into(),
            config_map: Some(ConfigMapVolumeSource {
                name: config_map.clone(),
                ..ConfigMapVolumeSource::default()
            }),
            ..Volume::default()
        });
        files
            .mounts
            .push(read_only_mount("hadoop-conf", HADOOP_CONF));
        options.push(("hadoop.conf.path", HADOOP_CONF.into()));
    }
    if let (Some(principal), Some(keytab)) = (&hdfs.kerberos_principal, &hdfs.keytab) {
        secret_file(&mut files, "kerberos-keytab", keytab, KEYTAB);
        // Pinot's HadoopPinotFS spells it "principle".
        options.push(("hadoop.kerberos.principle", principal.clone()));
        options.push(("hadoop.kerberos.keytab", KEYTAB.into()));
    }
    Some((
        remote(
            &hdfs.uri,
            "hdfs",
            "org.apache.pinot.plugin.filesystem.HadoopPinotFS",
            options,
        ),
        files,
    ))
}

fn remote<'a>(
    uri: &'a str,
    scheme: &'static str,
    class: &'static str,
    options: Vec<(&'static str, String)>,
) -> Store<'a> {
    Store {
        uri,
        scheme,
        class,
        options,
        secret_options: vec![],
    }
}

fn secret_env(name: &str, source: &SecretKeyRef) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: None,
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: source.name.clone(),
                key: source.key.clone(),
                optional: Some(false),
            }),
            ..EnvVarSource::default()
        }),
    }
}

/// Mounts one Secret key as the file `path`.
fn secret_file(out: &mut Additions, volume: &str, source: &SecretKeyRef, path: &str) {
    let (dir, file) = path.rsplit_once('/').expect("absolute path");
    let secret = secret_key_volume(volume, &source.name, &source.key, file);
    out.volumes.push(secret);
    out.mounts.push(read_only_mount(volume, dir));
    out.secret_inputs.push(source.clone());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn storage(yaml: &str) -> DeepStorageSpec {
        serde_norway::from_str(yaml).unwrap()
    }

    fn key(name: &str, key: &str) -> SecretKeyRef {
        SecretKeyRef {
            name: name.into(),
            key: key.into(),
        }
    }

    fn has(pairs: &[(String, String)], key: &str, value: &str) -> bool {
        pairs.iter().any(|(k, v)| k == key && v == value)
    }

    #[test]
    fn gcs_key_is_a_mounted_file() {
        let s = storage(
            "gcs: {uri: gs://b/p, projectId: proj, keySecretRef: {name: gcp, key: key.json}}",
        );
        let out = additions(&s, Component::Minion, &SecretValues::new());
        assert!(has(
            &out.properties,
            "pinot.minion.storage.factory.gs.gcpKey",
            GCS_KEY
        ));
        assert!(has(
            &out.properties,
            "pinot.minion.storage.factory.gs.projectId",
            "proj"
        ));
        assert_eq!(out.mounts[0].mount_path, "/var/pinot/deep-storage/gcs");
        assert_eq!(out.secret_inputs, vec![key("gcp", "key.json")]);
        assert_eq!(plugin(Some(&s)), Some("pinot-gcs"));
    }

    #[test]
    fn adls_access_key_is_a_secret_property() {
        let s = storage(
            "adls: {uri: adl2://fs/p, accountName: acct, fileSystemName: fs, accessKey: {name: az, key: k}}",
        );
        let secrets = SecretValues::from([(key("az", "k"), "azure-key".into())]);
        let out = additions(&s, Component::Controller, &secrets);
        assert!(has(
            &out.secret_properties,
            "pinot.controller.storage.factory.adl2.accessKey",
            "azure-key"
        ));
        assert!(!format!("{:?}", out.properties).contains("azure-key"));
        assert!(has(&out.properties, "controller.data.dir", "adl2://fs/p"));
    }

    #[test]
    fn hdfs_takes_its_site_files_and_keytab() {
        let s = storage(
            "hdfs: {uri: 'hdfs://nn:8020/pinot', configMapName: hadoop, kerberosPrincipal: pinot@REALM, keytab: {name: kt, key: keytab}}",
        );
        let out = additions(&s, Component::Server, &SecretValues::new());
        assert!(has(
            &out.properties,
            "pinot.server.storage.factory.hdfs.hadoop.conf.path",
            HADOOP_CONF
        ));
        assert!(has(
            &out.properties,
            "pinot.server.storage.factory.hdfs.hadoop.kerberos.keytab",
            KEYTAB
        ));
        assert!(has(
            &out.properties,
            "pinot.server.instance.segment.store.uri",
            "hdfs://nn:8020/pinot"
        ));
        assert_eq!(out.volumes.len(), 2);
    }

    #[test]
    fn local_only_moves_the_controller_data_dir() {
        let s = storage("local: {path: /shared/segments}");
        let out = additions(&s, Component::Controller, &SecretValues::new());
        assert_eq!(
            out.properties,
            vec![("controller.data.dir".into(), "/shared/segments".into())]
        );
        assert!(
            additions(&s, Component::Server, &SecretValues::new())
                .properties
                .is_empty()
        );
        assert_eq!(plugin(Some(&s)), None);
    }

    #[test]
    fn brokers_get_nothing() {
        let s = storage("s3: {uri: s3://b, region: r}");
        assert_eq!(
            additions(&s, Component::Broker, &SecretValues::new()),
            Additions::default()
        );
    }
}
