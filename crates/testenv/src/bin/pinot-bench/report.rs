//! Markdown output: the machine and versions first, then one table per benchmark.

use std::time::Duration;

use crate::Options;

pub struct Table<'a> {
    pub title: &'a str,
    pub headers: &'a [&'a str],
    pub rows: Vec<Vec<String>>,
    /// Lines printed under the table.
    pub notes: Vec<String>,
}

impl Table<'_> {
    pub fn print(&self) {
        println!("### {}\n", self.title);
        println!("| {} |", self.headers.join(" | "));
        println!("|{}", "---|".repeat(self.headers.len()));
        for row in &self.rows {
            println!("| {} |", row.join(" | "));
        }
        println!();
        for note in &self.notes {
            println!("- {note}");
        }
        if !self.notes.is_empty() {
            println!();
        }
    }
}

pub fn seconds(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

pub fn millis(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

pub fn verdict(met: bool) -> String {
    if met { "met" } else { "**not met**" }.to_owned()
}

/// The machine (nproc, memory, CPU model), the component versions and the options.
pub fn print_header(options: &Options) {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_else(|| "unknown".into());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map(|kib| format!("{:.1} GiB", kib / 1024.0 / 1024.0))
        .unwrap_or_else(|| "unknown".into());
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let version = |key| testenv::versions::version(key);
    println!("## pinot-operator benchmark\n");
    println!(
        "- machine: {cpus} CPUs ({model}), {memory} RAM, Linux {}",
        kernel.trim()
    );
    println!(
        "- versions: Kubernetes {}, etcd {}, KWOK {}, Apache Pinot {}; operator {} (release build)",
        version("KUBERNETES_VERSION"),
        version("ETCD_VERSION"),
        version("KWOK_VERSION"),
        version("PINOT_VERSION"),
        env!("CARGO_PKG_VERSION"),
    );
    println!(
        "- load average at start (1/5/15 min): {} — the machine may be shared",
        load_average()
    );
    println!(
        "- options: sizes {:?}, steady {} s, {} changes, operator --resync-seconds {}, \
         KWOK ready delay {}, only {}\n",
        options.sizes,
        options.steady.as_secs(),
        options.changes,
        options.resync.as_secs(),
        options.ready_delay,
        options
            .only
            .map_or("all".to_owned(), |b| format!("{b:?}").to_lowercase()),
    );
}

/// The load average at the end: other work on the machine skews every figure.
pub fn print_footer() {
    println!("- load average at the end (1/5/15 min): {}", load_average());
}

/// The 1, 5 and 15 minute load averages, from `/proc/loadavg`.
fn load_average() -> String {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    load.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}
