//! Removing the iptables state the node created: our guard chain, and the `KUBE-*`
//! chains kube-proxy and the kubelet made (in IPv4 and IPv6, every table), together
//! with the rules in built-in chains that jump to them. Only one real node runs per
//! machine (see `lock`), so every `KUBE-*` chain is ours.

use super::host::{run, run_with_input};
use super::paths::GUARD_CHAIN;

const TABLES: [&str; 4] = ["filter", "nat", "mangle", "raw"];

/// Removes the chains from every table of both families; failures are logged.
pub fn remove_chains() {
    for (save, restore) in [
        ("iptables-save", "iptables-restore"),
        ("ip6tables-save", "ip6tables-restore"),
    ] {
        for table in TABLES {
            if let Err(e) = remove_from_table(save, restore, table) {
                tracing::debug!("remove iptables chains from {table} ({save}): {e:#}");
            }
        }
    }
}

fn ours(chain: &str) -> bool {
    chain.starts_with("KUBE-") || chain == GUARD_CHAIN
}

/// One `iptables-restore --noflush` transaction: delete the jumps from chains that stay,
/// then flush every chain of ours (they jump to each other), then delete them.
fn remove_from_table(save: &str, restore: &str, table: &str) -> anyhow::Result<()> {
    let rules = run(save, &["-t", table])?;
    let script = removal_script(table, &rules);
    if script.is_empty() {
        return Ok(());
    }
    run_with_input(restore, &["--noflush"], script.as_bytes())
}

/// The restore script for one table's `iptables-save` output; empty when nothing is ours.
fn removal_script(table: &str, saved: &str) -> String {
    let chains: Vec<&str> = saved
        .lines()
        .filter_map(|line| line.strip_prefix(':'))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|chain| ours(chain))
        .collect();
    if chains.is_empty() {
        return String::new();
    }
    let mut script = format!("*{table}\n");
    for line in saved.lines() {
        let Some(rule) = line.strip_prefix("-A ") else {
            continue;
        };
        let chain = rule.split_whitespace().next().unwrap_or_default();
        let jumps_to_ours = rule
            .split_whitespace()
            .skip_while(|word| *word != "-j" && *word != "-g")
            .nth(1)
            .is_some_and(ours);
        if !ours(chain) && jumps_to_ours {
            script.push_str(&format!("-D {rule}\n"));
        }
    }
    for chain in &chains {
        script.push_str(&format!("-F {chain}\n"));
    }
    for chain in &chains {
        script.push_str(&format!("-X {chain}\n"));
    }
    script.push_str("COMMIT\n");
    script
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deletes_jumps_then_flushes_and_deletes_only_our_chains() {
        let saved = "*nat\n:PREROUTING ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n:KUBE-SVC-X - [0:0]\n\
                     :OTHER - [0:0]\n-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n\
                     -A PREROUTING -j OTHER\n-A KUBE-SERVICES -j KUBE-SVC-X\nCOMMIT\n";
        assert_eq!(
            removal_script("nat", saved),
            "*nat\n-D PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n\
             -F KUBE-SERVICES\n-F KUBE-SVC-X\n-X KUBE-SERVICES\n-X KUBE-SVC-X\nCOMMIT\n"
        );
    }

    #[test]
    fn nothing_to_do_without_our_chains() {
        assert_eq!(
            removal_script("filter", "*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n"),
            ""
        );
    }
}
