//! The operator's annotations on server pods: force-commit marks
//! ([`super::force_commit`]) and the record of segments reset
//! ([`super::error_segments`]). Both are written with server-side apply under the
//! operator's one field manager, which drops any annotation an apply leaves out, so
//! every write names all of them.

use std::collections::BTreeMap;

use crate::cluster::observe::workloads::Observed;

/// Every operator annotation one pod should carry.
#[derive(Debug, Clone, PartialEq)]
pub struct PodMarks {
    pub pod: String,
    pub annotations: BTreeMap<&'static str, String>,
}

/// `marks` (pod, value) set under `key`, each with the pod's other marks kept.
pub fn with_others(
    observed: &Observed,
    key: &'static str,
    marks: Vec<(String, String)>,
) -> Vec<PodMarks> {
    marks
        .into_iter()
        .map(|(pod, value)| {
            let mut annotations = observed.pod(&pod).map(|p| p.marks()).unwrap_or_default();
            annotations.insert(key, value);
            PodMarks { pod, annotations }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::desired::tests::desired;
    use crate::cluster::names::{FORCE_COMMIT_ANNOTATION, RESET_ANNOTATION};
    use crate::cluster::observe::workloads::running;

    #[test]
    fn a_new_mark_keeps_the_pods_other_mark() {
        let d = desired();
        let mut observed = running(&d, "x");
        let pool = observed.pools.get_mut("analytics-server-hot").unwrap();
        pool.pods[0].segments_reset = Some("s0".into());
        let pod = "analytics-server-hot-0".to_owned();
        let marks = with_others(
            &observed,
            FORCE_COMMIT_ANNOTATION,
            vec![(pod.clone(), "7 c".into())],
        );
        let annotations = BTreeMap::from([
            (FORCE_COMMIT_ANNOTATION, "7 c".to_owned()),
            (RESET_ANNOTATION, "s0".to_owned()),
        ]);
        assert_eq!(marks, vec![PodMarks { pod, annotations }]);
    }
}
