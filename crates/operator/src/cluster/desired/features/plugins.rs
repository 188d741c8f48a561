//! `spec.plugins` → which plugin directories Pinot loads (`plugins.include`), and
//! extra plugins copied from an image by an init container or mounted from a claim.

use api::plugins::{ExtraPlugin, PluginsSpec};
use k8s_openapi::api::core::v1::{
    Container, EmptyDirVolumeSource, PersistentVolumeClaimVolumeSource, Volume, VolumeMount,
};

use super::additions::Additions;
use crate::cluster::desired::container_security_context;

/// Where the image keeps its plugins; extra ones go next to it.
const IMAGE_PLUGINS: &str = "/opt/pinot/plugins";
const EXTRA_PLUGINS: &str = "/opt/pinot/extra-plugins";
const EXTRA_VOLUME: &str = "extra-plugins";

/// What the plugin settings add to every Pinot role's pods. `storage_plugin` is the
/// deep storage's plugin, which must load whatever `include` says.
pub fn additions(plugins: &PluginsSpec, storage_plugin: Option<&str>) -> Additions {
    let mut out = Additions::default();
    if let Some(include) = &plugins.include {
        let mut names: Vec<&str> = Vec::new();
        let wanted = include.iter().map(String::as_str);
        let added = storage_plugin
            .into_iter()
            .chain(plugins.extra.iter().map(|p| p.name.as_str()));
        for name in wanted.chain(added) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        // Pinot splits both lists on ';'.
        out.jvm_flags
            .push(format!("-Dplugins.include={}", names.join(";")));
    }
    if plugins.extra.is_empty() {
        return out;
    }
    out.jvm_flags
        .push(format!("-Dplugins.dir={IMAGE_PLUGINS};{EXTRA_PLUGINS}"));
    out.volumes.push(Volume {
        name: EXTRA_VOLUME.into(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Volume::default()
    });
    out.mounts
        .push(mount(EXTRA_VOLUME, EXTRA_PLUGINS, None, true));
    for plugin in &plugins.extra {
        extra(&mut out, plugin);
    }
    out
}

fn extra(out: &mut Additions, plugin: &ExtraPlugin) {
    let target = format!("{EXTRA_PLUGINS}/{}", plugin.name);
    if let Some(image) = &plugin.image {
        out.init_containers.push(Container {
            name: format!("plugin-{}", plugin.name),
            image: Some(image.clone()),
            // `cp -r src dst` with a missing `dst` creates it as a copy of `src`.
            command: Some(vec!["cp".into(), "-r".into(), plugin.path.clone(), target]),
            volume_mounts: Some(vec![mount(EXTRA_VOLUME, EXTRA_PLUGINS, None, false)]),
            security_context: Some(container_security_context()),
            ..Container::default()
        });
    } else if let Some(claim) = &plugin.claim_name {
        let volume = format!("plugin-{}", plugin.name);
        out.volumes.push(Volume {
            name: volume.clone(),
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                claim_name: claim.clone(),
                read_only: Some(true),
            }),
            ..Volume::default()
        });
        let sub_path = plugin.path.trim_start_matches('/');
        out.mounts.push(mount(
            &volume,
            &target,
            (!sub_path.is_empty()).then(|| sub_path.to_owned()),
            true,
        ));
    }
}

fn mount(volume: &str, path: &str, sub_path: Option<String>, read_only: bool) -> VolumeMount {
    VolumeMount {
        name: volume.into(),
        mount_path: path.into(),
        sub_path,
        read_only: Some(read_only),
        ..VolumeMount::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plugin(name: &str, image: Option<&str>, claim: Option<&str>) -> ExtraPlugin {
        ExtraPlugin {
            name: name.into(),
            image: image.map(Into::into),
            path: "/plugins".into(),
            claim_name: claim.map(Into::into),
        }
    }

    #[test]
    fn nothing_set_adds_nothing() {
        assert_eq!(
            additions(&PluginsSpec::default(), Some("pinot-s3")),
            Additions::default()
        );
    }

    #[test]
    fn include_adds_the_storage_and_extra_plugins() {
        let spec = PluginsSpec {
            include: Some(vec!["pinot-kafka-3.0".into(), "pinot-parquet".into()]),
            extra: vec![plugin("udf", Some("registry/udf:1"), None)],
        };
        let out = additions(&spec, Some("pinot-s3"));
        assert!(
            out.jvm_flags
                .contains(&"-Dplugins.include=pinot-kafka-3.0;pinot-parquet;pinot-s3;udf".into())
        );
        assert!(
            out.jvm_flags
                .contains(&"-Dplugins.dir=/opt/pinot/plugins;/opt/pinot/extra-plugins".into())
        );
        let init = &out.init_containers[0];
        assert_eq!(init.image.as_deref(), Some("registry/udf:1"));
        assert_eq!(
            init.command.as_ref().unwrap().join(" "),
            "cp -r /plugins /opt/pinot/extra-plugins/udf"
        );
    }

    #[test]
    fn a_claim_is_mounted_read_only_at_the_plugin_directory() {
        let spec = PluginsSpec {
            include: None,
            extra: vec![plugin("geo", None, Some("geo-jars"))],
        };
        let out = additions(&spec, None);
        assert!(out.init_containers.is_empty());
        let mount = out.mounts.iter().find(|m| m.name == "plugin-geo").unwrap();
        assert_eq!(mount.mount_path, "/opt/pinot/extra-plugins/geo");
        assert_eq!(mount.sub_path.as_deref(), Some("plugins"));
        assert_eq!(mount.read_only, Some(true));
        assert!(!out.jvm_flags.iter().any(|f| f.contains("include")));
    }
}
