//! Extra volume claims (`kubernetes.volumeClaims`): one claim template per entry,
//! mounted in the main container of the pod template the operator built (after
//! `podOverrides`, so a clash with a volume or mount added there is caught too).

use api::settings::VolumeClaimSettings;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, PodTemplateSpec, VolumeMount};

use super::workload::volume_claim;

/// Mounts each of `claims` in `container` of `template`; returns their claim templates,
/// or why one cannot be added (its name or mount path is taken).
pub fn attach(
    template: &mut PodTemplateSpec,
    container: &str,
    claims: &[VolumeClaimSettings],
    taken_names: &[&str],
) -> Result<Vec<PersistentVolumeClaim>, String> {
    let Some(spec) = template.spec.as_mut() else {
        return Ok(vec![]);
    };
    let volumes: Vec<String> = (spec.volumes.iter().flatten())
        .map(|v| v.name.clone())
        .chain(taken_names.iter().map(|n| (*n).to_owned()))
        .collect();
    let Some(main) = spec.containers.iter_mut().find(|c| c.name == container) else {
        return Ok(vec![]);
    };
    let mounts = main.volume_mounts.get_or_insert_with(Vec::new);
    let mut templates = Vec::new();
    for claim in claims {
        if volumes.contains(&claim.name) {
            return Err(format!(
                "volumeClaims: {} is already a volume of the pod; choose another name",
                claim.name
            ));
        }
        if let Some(other) = mounts.iter().find(|m| m.mount_path == claim.mount_path) {
            return Err(format!(
                "volumeClaims: {} cannot be mounted at {}, where volume {} is",
                claim.name, claim.mount_path, other.name
            ));
        }
        mounts.push(VolumeMount {
            name: claim.name.clone(),
            mount_path: claim.mount_path.clone(),
            ..VolumeMount::default()
        });
        let mut pvc = volume_claim(claim.size.clone(), claim.storage_class_name.clone());
        pvc.metadata.name = Some(claim.name.clone());
        templates.push(pvc);
    }
    Ok(templates)
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{Container, PodSpec, Volume};
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

    use super::*;

    fn template() -> PodTemplateSpec {
        let mount = |name: &str, path: &str| VolumeMount {
            name: name.into(),
            mount_path: path.into(),
            ..VolumeMount::default()
        };
        PodTemplateSpec {
            metadata: None,
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: "pinot".into(),
                    volume_mounts: Some(vec![mount("config", "/conf"), mount("data", "/data")]),
                    ..Container::default()
                }],
                volumes: Some(vec![Volume {
                    name: "config".into(),
                    ..Volume::default()
                }]),
                ..PodSpec::default()
            }),
        }
    }

    fn claim(name: &str, path: &str) -> VolumeClaimSettings {
        VolumeClaimSettings {
            name: name.into(),
            mount_path: path.into(),
            size: Quantity("2Gi".into()),
            storage_class_name: Some("fast".into()),
        }
    }

    #[test]
    fn each_claim_is_a_template_mounted_in_the_main_container() {
        let mut t = template();
        let claims = attach(
            &mut t,
            "pinot",
            &[claim("logs", "/var/log/pinot")],
            &["data"],
        );
        let claims = claims.unwrap();
        assert_eq!(claims.len(), 1);
        assert_eq!(claims[0].metadata.name.as_deref(), Some("logs"));
        let spec = claims[0].spec.as_ref().unwrap();
        assert_eq!(spec.storage_class_name.as_deref(), Some("fast"));
        let requests = spec.resources.as_ref().unwrap().requests.as_ref().unwrap();
        assert_eq!(requests["storage"], Quantity("2Gi".into()));
        let mounts = t.spec.unwrap().containers[0].volume_mounts.clone().unwrap();
        let last = mounts.last().unwrap();
        assert_eq!(
            (last.name.as_str(), last.mount_path.as_str()),
            ("logs", "/var/log/pinot")
        );
    }

    #[test]
    fn a_taken_name_or_mount_path_is_refused() {
        let why = attach(&mut template(), "pinot", &[claim("config", "/x")], &[]).unwrap_err();
        assert!(why.contains("config is already a volume"), "{why}");
        let why = attach(&mut template(), "pinot", &[claim("data", "/x")], &["data"]).unwrap_err();
        assert!(why.contains("data is already a volume"), "{why}");
        let why = attach(&mut template(), "pinot", &[claim("logs", "/data")], &[]).unwrap_err();
        assert!(why.contains("where volume data is"), "{why}");
    }
}
