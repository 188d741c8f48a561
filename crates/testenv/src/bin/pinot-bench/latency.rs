//! Reaction latency: the time from a PinotTable spec change (the patch returned by the
//! apiserver) until Pinot's own `GET /tables/{name}` shows it, over `--changes`
//! changes one after another. Pinot's own latency, the same change made directly with
//! `PUT /tables/{name}` until the same GET shows it, is measured alongside.

use std::time::{Duration, Instant};

use anyhow::bail;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use serde_json::json;

use crate::Options;
use crate::convergence::Content;
use crate::env::Env;
use crate::floors::table;
use crate::report::{Table, millis, verdict};

const POLL: Duration = Duration::from_millis(10);
const GIVE_UP: Duration = Duration::from_secs(60);

/// Polls Pinot until table `name` has retention `value`.
async fn until_visible(env: &Env, name: &str, value: &str) -> anyhow::Result<()> {
    let url = format!(
        "{}/tables/{name}?type=OFFLINE",
        env.pinot().controller_url()
    );
    let started = Instant::now();
    loop {
        let config: serde_json::Value = env.http.get(&url).send().await?.json().await?;
        if config["OFFLINE"]["segmentsConfig"]["retentionTimeValue"] == value {
            return Ok(());
        }
        if started.elapsed() > GIVE_UP {
            bail!("table {name} never showed retention {value}");
        }
        tokio::time::sleep(POLL).await;
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn run(env: &Env, options: &Options, content: &Content) -> anyhow::Result<()> {
    let client = env.client()?;
    let gvk = GroupVersionKind::gvk("pinot.operator.dev", "v1alpha1", "PinotTable");
    let resource = ApiResource::from_gvk_with_plural(&gvk, "pinottables");
    let tables: Api<DynamicObject> = Api::namespaced_with(client, &content.namespace, &resource);
    let mut operator = Vec::with_capacity(options.changes);
    let mut direct = Vec::with_capacity(options.changes);
    let before = env.metrics()?;
    env.runtime.block_on(async {
        for j in 0..options.changes {
            let i = j % content.n;
            let value = (100 + j).to_string();
            let patch =
                json!({"spec": {"table": {"segmentsConfig": {"retentionTimeValue": value}}}});
            tables
                .patch(
                    &format!("t{i}"),
                    &PatchParams::default(),
                    &Patch::Merge(&patch),
                )
                .await?;
            let changed = Instant::now();
            until_visible(env, &format!("op{}_{i}", content.n), &value).await?;
            operator.push(changed.elapsed());

            let name = &content.floor_tables[i % content.floor_tables.len()];
            let url = format!("{}/tables/{name}", env.pinot().controller_url());
            let started = Instant::now();
            let response = env
                .http
                .put(&url)
                .json(&table(name, 100 + j as u32))
                .send()
                .await?;
            if !response.status().is_success() {
                bail!("PUT /tables/{name}: {}", response.text().await?);
            }
            until_visible(env, name, &value).await?;
            direct.push(started.elapsed());
        }
        anyhow::Ok(())
    })?;
    let calls = env.metrics()?.since(&before);
    operator.sort_unstable();
    direct.sort_unstable();
    let (p50, p99) = (percentile(&operator, 50.0), percentile(&operator, 99.0));
    let (d50, d99) = (percentile(&direct, 50.0), percentile(&direct, 99.0));
    let target = Duration::from_secs(1) + d99;
    Table {
        title: &format!(
            "3. Reaction latency: {} spec changes, one after another",
            options.changes
        ),
        headers: &["path", "p50", "p99", "max", "target", "met"],
        rows: vec![
            vec![
                "operator: PinotTable patch -> Pinot shows it".into(),
                millis(p50),
                millis(p99),
                millis(*operator.last().unwrap_or(&Duration::ZERO)),
                format!("p99 < 1 s + Pinot p99 = {}", millis(target)),
                verdict(p99 < target),
            ],
            vec![
                "Pinot alone: PUT /tables -> Pinot shows it".into(),
                millis(d50),
                millis(d99),
                millis(*direct.last().unwrap_or(&Duration::ZERO)),
                "-".into(),
                "-".into(),
            ],
        ],
        notes: vec![
            format!(
                "Change j sets retentionTimeValue to 100 + j on table t(j mod {}); Pinot is \
                 polled every {} ms with GET /tables/{{name}}?type=OFFLINE (the poll adds up to \
                 that much).",
                content.n,
                POLL.as_millis()
            ),
            format!(
                "The operator's Pinot calls in the window, resyncs of all {} pairs included \
                 (each reads its object once): {}; {:.2} writes per change.",
                content.n,
                calls.calls_by_endpoint(),
                calls.calls().writes / options.changes as f64
            ),
        ],
    }
    .print();
    Ok(())
}
