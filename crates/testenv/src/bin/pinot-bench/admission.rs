//! What admission costs: the kube-apiserver's own latency for each write of this API
//! group's kinds (`apiserver_request_duration_seconds`, which times the whole request:
//! decoding, defaulting, OpenAPI and CEL validation, managed fields, etcd), and the
//! time it spent evaluating CEL rules (`apiserver_cel_evaluation_duration_seconds`),
//! over a window.

use std::collections::BTreeMap;

use crate::env::label_value as label;

/// One Prometheus histogram: cumulative bucket counts by upper bound, sum and count.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram {
    buckets: BTreeMap<Bound, f64>,
    sum: f64,
    count: f64,
}

/// A bucket's upper bound, ordered (`+Inf` last).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Bound(f64);

impl Eq for Bound {}

impl PartialOrd for Bound {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Bound {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

impl Histogram {
    fn since(&self, before: &Histogram) -> Histogram {
        let earlier = |bound| before.buckets.get(bound).copied().unwrap_or(0.0);
        Histogram {
            buckets: (self.buckets.iter())
                .map(|(bound, n)| (*bound, n - earlier(bound)))
                .collect(),
            sum: self.sum - before.sum,
            count: self.count - before.count,
        }
    }

    pub fn count(&self) -> f64 {
        self.count
    }

    pub fn mean_ms(&self) -> f64 {
        match self.count > 0.0 {
            true => self.sum / self.count * 1000.0,
            false => 0.0,
        }
    }

    /// The upper bound of the bucket holding quantile `q`, in ms: the apiserver's
    /// buckets are coarse (5, 25, 50, 100, 200, 400 ms, ...), so this is "at most".
    pub fn quantile_ms(&self, q: f64) -> f64 {
        let rank = q * self.count;
        let bound = self.buckets.iter().find(|(_, n)| **n >= rank);
        bound.map_or(f64::NAN, |(bound, _)| bound.0 * 1000.0)
    }
}

/// The apiserver's write latencies for this API group, by `(verb, resource[/sub])`,
/// and its CEL evaluation time, when it exposes it.
#[derive(Debug, Clone, Default)]
pub struct Admission {
    pub writes: BTreeMap<(String, String), Histogram>,
    pub cel: Option<Histogram>,
}

const DURATION: &str = "apiserver_request_duration_seconds";
const CEL: &str = "apiserver_cel_evaluation_duration_seconds";
const WRITES: &[&str] = &["POST", "PUT", "PATCH", "APPLY"];

impl Admission {
    pub fn parse(text: &str) -> Admission {
        let mut admission = Admission::default();
        for line in text.lines() {
            let Some((series, value)) = line.rsplit_once(' ') else {
                continue;
            };
            let Ok(value) = value.parse::<f64>() else {
                continue;
            };
            let name = series.split('{').next().unwrap_or(series);
            let Some((metric, part)) = name.rsplit_once('_') else {
                continue;
            };
            let histogram = match metric {
                DURATION => match write_of_this_group(series) {
                    Some(key) => admission.writes.entry(key).or_default(),
                    None => continue,
                },
                CEL => admission.cel.get_or_insert_with(Histogram::default),
                _ => continue,
            };
            record(histogram, part, series, value);
        }
        admission
    }

    pub fn since(&self, before: &Admission) -> Admission {
        let empty = Histogram::default();
        Admission {
            writes: (self.writes.iter())
                .map(|(key, h)| {
                    (
                        key.clone(),
                        h.since(before.writes.get(key).unwrap_or(&empty)),
                    )
                })
                .filter(|(_, h)| h.count > 0.0)
                .collect(),
            cel: (self.cel.as_ref()).map(|h| h.since(before.cel.as_ref().unwrap_or(&empty))),
        }
    }
}

fn record(histogram: &mut Histogram, part: &str, series: &str, value: f64) {
    match part {
        "sum" => histogram.sum += value,
        "count" => histogram.count += value,
        "bucket" => {
            let le = label(series, "le").unwrap_or_default();
            let bound = match le.as_str() {
                "+Inf" => f64::INFINITY,
                other => other.parse().unwrap_or(f64::NAN),
            };
            *histogram.buckets.entry(Bound(bound)).or_default() += value;
        }
        _ => {}
    }
}

/// `(verb, resource[/subresource])` of a write to this API group, else `None`.
fn write_of_this_group(series: &str) -> Option<(String, String)> {
    let verb = label(series, "verb")?;
    if label(series, "group")? != "pinot.operator.dev" || !WRITES.contains(&verb.as_str()) {
        return None;
    }
    let resource = label(series, "resource")?;
    let resource = match label(series, "subresource").unwrap_or_default().as_str() {
        "" => resource,
        sub => format!("{resource}/{sub}"),
    };
    Some((verb, resource))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
apiserver_request_duration_seconds_bucket{component=\"apiserver\",dry_run=\"\",group=\"pinot.operator.dev\",le=\"0.005\",resource=\"pinottables\",scope=\"resource\",subresource=\"\",verb=\"APPLY\",version=\"v1alpha1\"} 10
apiserver_request_duration_seconds_bucket{component=\"apiserver\",dry_run=\"\",group=\"pinot.operator.dev\",le=\"0.025\",resource=\"pinottables\",scope=\"resource\",subresource=\"\",verb=\"APPLY\",version=\"v1alpha1\"} 99
apiserver_request_duration_seconds_bucket{component=\"apiserver\",dry_run=\"\",group=\"pinot.operator.dev\",le=\"0.05\",resource=\"pinottables\",scope=\"resource\",subresource=\"\",verb=\"APPLY\",version=\"v1alpha1\"} 100
apiserver_request_duration_seconds_bucket{component=\"apiserver\",dry_run=\"\",group=\"pinot.operator.dev\",le=\"+Inf\",resource=\"pinottables\",scope=\"resource\",subresource=\"\",verb=\"APPLY\",version=\"v1alpha1\"} 100
apiserver_request_duration_seconds_sum{component=\"apiserver\",dry_run=\"\",group=\"pinot.operator.dev\",resource=\"pinottables\",scope=\"resource\",subresource=\"\",verb=\"APPLY\",version=\"v1alpha1\"} 1.5
apiserver_request_duration_seconds_count{component=\"apiserver\",dry_run=\"\",group=\"pinot.operator.dev\",resource=\"pinottables\",scope=\"resource\",subresource=\"\",verb=\"APPLY\",version=\"v1alpha1\"} 100
apiserver_request_duration_seconds_count{component=\"apiserver\",dry_run=\"\",group=\"pinot.operator.dev\",resource=\"pinottables\",scope=\"resource\",subresource=\"\",verb=\"GET\",version=\"v1alpha1\"} 7
apiserver_request_duration_seconds_count{component=\"apiserver\",dry_run=\"\",group=\"apps\",resource=\"statefulsets\",scope=\"resource\",subresource=\"\",verb=\"APPLY\",version=\"v1\"} 7
apiserver_cel_evaluation_duration_seconds_sum 0.25
apiserver_cel_evaluation_duration_seconds_count 400
";

    #[test]
    fn reads_this_group_s_write_latencies_and_the_cel_time() {
        let admission = Admission::parse(TEXT);
        let key = ("APPLY".to_owned(), "pinottables".to_owned());
        assert_eq!(admission.writes.keys().collect::<Vec<_>>(), [&key]);
        let tables = &admission.writes[&key];
        assert_eq!(tables.count(), 100.0);
        assert_eq!(tables.mean_ms(), 15.0);
        assert_eq!(tables.quantile_ms(0.5), 25.0);
        assert_eq!(tables.quantile_ms(0.99), 25.0);
        assert_eq!(tables.quantile_ms(1.0), 50.0);
        assert_eq!(admission.cel.map(|c| c.count()), Some(400.0));
    }

    #[test]
    fn a_window_is_the_difference_of_two_scrapes() {
        let before = Admission::parse(TEXT);
        let after = Admission::parse(&TEXT.replace("} 100\n", "} 150\n").replace("} 1.5", "} 2.5"));
        let window = after.since(&before);
        let tables = &window.writes[&("APPLY".to_owned(), "pinottables".to_owned())];
        assert_eq!(tables.count(), 50.0);
        assert_eq!(tables.mean_ms(), 20.0);
        assert_eq!(tables.quantile_ms(0.99), 50.0);
    }
}
