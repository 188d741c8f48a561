//! JVM options of a pod: the operator's base options, then either the user's
//! `jvmOptions` or a heap derived from the container memory limit.

use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::cluster::component::Component;

/// Share of the memory limit given to the heap. Pinot keeps segments off-heap
/// (mmap, direct buffers), so the other half is not wasted.
const HEAP_SHARE: f64 = 0.5;
const MIB: f64 = 1024.0 * 1024.0;

/// Options every Pinot JVM gets: G1, exit on OOM (so Kubernetes restarts a wedged
/// JVM), a short DNS cache, and the image's log4j config and plugin directory.
///
/// A restarted pod keeps its name but not its IP. The JVM caches a name for 30 s, so
/// a broker that looked a server up while the old pod was terminating (the headless
/// Service still publishes it) would dial the dead address for up to 30 s after the
/// new pod is routed to: queries waiting on it time out. 5 s bounds that, and a name
/// not yet published is retried after 1 s instead of 10.
fn base_options(component: Component) -> String {
    let role = component.as_str();
    format!(
        "-XX:+UseG1GC -XX:MaxGCPauseMillis=200 -XX:+ExitOnOutOfMemoryError \
         -Dsun.net.inetaddr.ttl=5 -Dsun.net.inetaddr.negative.ttl=1 \
         -Dlog4j2.configurationFile=/opt/pinot/etc/conf/pinot-{role}-log4j2.xml \
         -Dplugins.dir=/opt/pinot/plugins"
    )
}

/// `JAVA_OPTS` of a Pinot container.
pub fn java_opts(
    component: Component,
    jvm_options: Option<&str>,
    resources: Option<&ResourceRequirements>,
    settings: &[String],
) -> String {
    let tuning = jvm_options
        .map(str::to_owned)
        .or_else(|| heap_options(resources));
    // Settings (e.g. plugin directories) come after the base options: for a repeated
    // `-D` the JVM keeps the last.
    let mut options = vec![base_options(component)];
    options.extend(settings.iter().cloned());
    options.extend(tuning);
    options.join(" ")
}

/// `-Xms`/`-Xmx` at half the memory limit; `None` without a limit (the JVM then
/// sizes itself from the node, which is why setting a limit is recommended).
pub fn heap_options(resources: Option<&ResourceRequirements>) -> Option<String> {
    let limit = resources?.limits.as_ref()?.get("memory")?;
    let bytes = quantity_bytes(limit)?;
    let mib = ((bytes * HEAP_SHARE) / MIB).floor().max(1.0) as u64;
    Some(format!("-Xms{mib}m -Xmx{mib}m"))
}

/// Bytes in a Kubernetes quantity such as `4Gi`, `1500M`, `1e9` or `512Mi`.
pub fn quantity_bytes(quantity: &Quantity) -> Option<f64> {
    let text = quantity.0.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let factor = match suffix {
        "" => 1.0,
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        exponent => 10f64.powi(exponent.strip_prefix(['e', 'E'])?.parse().ok()?),
    };
    Some(number * factor)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn limit(memory: &str) -> ResourceRequirements {
        ResourceRequirements {
            limits: Some(BTreeMap::from([("memory".into(), Quantity(memory.into()))])),
            ..Default::default()
        }
    }

    #[test]
    fn heap_is_half_the_memory_limit() {
        assert_eq!(
            heap_options(Some(&limit("4Gi"))).unwrap(),
            "-Xms2048m -Xmx2048m"
        );
        assert_eq!(
            heap_options(Some(&limit("1G"))).unwrap(),
            "-Xms476m -Xmx476m"
        );
        assert_eq!(
            heap_options(Some(&limit("2e9"))).unwrap(),
            "-Xms953m -Xmx953m"
        );
    }

    #[test]
    fn no_limit_no_heap_flags() {
        assert_eq!(heap_options(None), None);
        let requests_only = ResourceRequirements {
            requests: Some(BTreeMap::from([("memory".into(), Quantity("4Gi".into()))])),
            ..Default::default()
        };
        assert_eq!(heap_options(Some(&requests_only)), None);
    }

    #[test]
    fn user_jvm_options_replace_the_derived_heap() {
        let opts = java_opts(Component::Server, Some("-Xmx3g"), Some(&limit("8Gi")), &[]);
        assert!(opts.ends_with(" -Xmx3g"), "{opts}");
        assert!(!opts.contains("-Xms"), "{opts}");
        assert!(opts.contains("pinot-server-log4j2.xml"), "{opts}");
        let derived = java_opts(Component::Broker, None, Some(&limit("8Gi")), &[]);
        assert!(derived.ends_with("-Xms4096m -Xmx4096m"), "{derived}");
    }

    #[test]
    fn quantities_parse() {
        assert_eq!(quantity_bytes(&Quantity("512Mi".into())), Some(536870912.0));
        assert_eq!(quantity_bytes(&Quantity("1500M".into())), Some(1.5e9));
        assert_eq!(
            quantity_bytes(&Quantity("1.5Gi".into())),
            Some(1.5 * 1073741824.0)
        );
        assert_eq!(quantity_bytes(&Quantity("lots".into())), None);
    }
}
