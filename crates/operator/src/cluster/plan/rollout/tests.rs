//! Table-driven planner tests. Each pool's observed state is written compactly:
//!
//! - `-`: no StatefulSet;
//! - `H/r2 r2+ r1- r2x`: StatefulSet with applied hash `H`, update revision `r2`, and
//!   pods (by ordinal) on revision r2 ready (`+`), r1 not ready (`-`), r2 terminating (`x`);
//! - `H/?`: the StatefulSet controller has not observed the latest generation;
//! - `H/r2*4 ...`: the StatefulSet currently has `spec.replicas: 4`.

use super::*;

/// Every target pool wants hash `H`.
fn targets(replicas: [i32; 6]) -> Vec<PoolTarget> {
    let ids = [
        (Component::Zookeeper, "managed"),
        (Component::Controller, "main"),
        (Component::Broker, "default"),
        (Component::Server, "hot"),
        (Component::Server, "cold"),
        (Component::Minion, "default"),
    ];
    ids.iter()
        .zip(replicas)
        .map(|((component, pool), replicas)| PoolTarget {
            id: PoolId::new(*component, *pool),
            workload: workload(*component, pool),
            replicas,
            hash: "H".into(),
        })
        .collect()
}

const SIZES: [i32; 6] = [1, 2, 2, 3, 2, 1];

fn workload(component: Component, pool: &str) -> String {
    format!("c-{component}-{pool}")
}

fn parse_pool(workload: &str, text: &str, want: i32) -> ObservedPool {
    let mut words = text.split_whitespace();
    let head = words.next().unwrap();
    if head == "-" {
        return ObservedPool::default();
    }
    let (hash, rest) = head.split_once('/').unwrap();
    let (revision, replicas) = match rest.split_once('*') {
        Some((r, n)) => (r, n.parse().unwrap()),
        None => (rest, want),
    };
    let set = ObservedSet {
        applied_hash: Some(hash.into()),
        replicas,
        generation: Some(2),
        observed_generation: Some(if revision == "?" { 1 } else { 2 }),
        update_revision: (revision != "?").then(|| revision.to_owned()),
        ..ObservedSet::default()
    };
    let pods = words
        .enumerate()
        .map(|(ordinal, word)| {
            let (rev, flag) = word.split_at(word.len() - 1);
            let name = format!("{workload}-{ordinal}");
            ObservedPod {
                uid: format!("uid-{name}"),
                name,
                ordinal: ordinal as i32,
                revision: Some(rev.into()),
                ready: flag == "+",
                serving: flag == "+",
                routable: flag == "+",
                terminating: flag == "x",
                ..Default::default()
            }
        })
        .collect();
    ObservedPool {
        set: Some(set),
        pods,
    }
}

fn observed(targets: &[PoolTarget], states: [&str; 6]) -> Observed {
    Observed {
        pools: targets
            .iter()
            .zip(states)
            .map(|(t, s)| (t.workload.clone(), parse_pool(&t.workload, s, t.replicas)))
            .collect(),
    }
}

const SETTLED: [&str; 6] = [
    "H/r2 r2+",
    "H/r2 r2+ r2+",
    "H/r2 r2+ r2+",
    "H/r2 r2+ r2+ r2+",
    "H/r2 r2+ r2+",
    "H/r2 r2+",
];

fn with(mut states: [&'static str; 6], index: usize, state: &'static str) -> [&'static str; 6] {
    states[index] = state;
    states
}

fn id(component: Component, pool: &str) -> PoolId {
    PoolId::new(component, pool)
}

fn restart(component: Component, pool: &str, ordinals: &[i32]) -> Step {
    let workload = workload(component, pool);
    Step::Restart {
        pool: id(component, pool),
        pods: ordinals
            .iter()
            .map(|o| PodRef {
                name: format!("{workload}-{o}"),
                uid: format!("uid-{workload}-{o}"),
            })
            .collect(),
    }
}

fn wait(component: Component, pool: &str, why: Waiting) -> Step {
    Step::Wait {
        pool: id(component, pool),
        why,
    }
}

struct Case {
    name: &'static str,
    states: [&'static str; 6],
    policy: Policy,
    verdicts: Vec<(PoolId, Verdict)>,
    expect: Step,
}

fn case(name: &'static str, states: [&'static str; 6], expect: Step) -> Case {
    Case {
        name,
        states,
        policy: Policy::default(),
        verdicts: vec![],
        expect,
    }
}

fn cases() -> Vec<Case> {
    use Component::*;
    let one_by_one = Policy {
        server_strategy: ServerRolloutStrategy::OneByOne,
        ..Policy::default()
    };
    let paused = Policy {
        paused: true,
        ..Policy::default()
    };
    let skip_when_unreachable = Policy {
        pinot_checks: PinotChecks::SkipWhenUnreachable,
        ..Policy::default()
    };
    vec![
        case(
            "nothing created yet: create ZooKeeper",
            ["-"; 6],
            Step::Create(id(Zookeeper, "managed")),
        ),
        case(
            "ZooKeeper not ready: wait, create nothing else",
            ["H/r2 r2-", "-", "-", "-", "-", "-"],
            wait(
                Zookeeper,
                "managed",
                Waiting::PodsNotReady { ready: 0, want: 1 },
            ),
        ),
        case(
            "ZooKeeper pod not created yet: wait",
            ["H/r2", "-", "-", "-", "-", "-"],
            wait(
                Zookeeper,
                "managed",
                Waiting::PodsNotReady { ready: 0, want: 1 },
            ),
        ),
        case(
            "ZooKeeper ready: create the controllers",
            ["H/r2 r2+", "-", "-", "-", "-", "-"],
            Step::Create(id(Controller, "main")),
        ),
        case(
            "controllers ready: create the brokers",
            ["H/r2 r2+", "H/r2 r2+ r2+", "-", "-", "-", "-"],
            Step::Create(id(Broker, "default")),
        ),
        case(
            "servers one pool at a time: cold waits for hot",
            with(with(SETTLED, 3, "H/r2 r2+ r2+ r2-"), 4, "-"),
            wait(Server, "hot", Waiting::PodsNotReady { ready: 2, want: 3 }),
        ),
        case("everything updated and ready: done", SETTLED, Step::Settled),
        case(
            "controllers partially updated: delete the next outdated pod",
            with(SETTLED, 1, "H/r2 r1+ r2+"),
            restart(Controller, "main", &[0]),
        ),
        case(
            "controllers all outdated: highest ordinal first",
            with(SETTLED, 1, "H/r2 r1+ r1+"),
            restart(Controller, "main", &[1]),
        ),
        case(
            "restarted controller not recreated yet: wait",
            with(SETTLED, 1, "H/r2 r1+"),
            wait(
                Controller,
                "main",
                Waiting::PodsNotReady { ready: 1, want: 2 },
            ),
        ),
        case(
            "restarted controller not ready yet: wait",
            with(SETTLED, 1, "H/r2 r1+ r2-"),
            wait(
                Controller,
                "main",
                Waiting::PodsNotReady { ready: 1, want: 2 },
            ),
        ),
        case(
            "an outdated pod that is not ready goes first",
            with(SETTLED, 1, "H/r2 r1- r1+"),
            restart(Controller, "main", &[0]),
        ),
        case(
            "a terminating pod is waited for",
            with(SETTLED, 2, "H/r2 r2+ r1x"),
            wait(
                Broker,
                "default",
                Waiting::PodsTerminating(vec!["c-broker-default-1".into()]),
            ),
        ),
        case(
            "two roles never roll at once: brokers wait for controllers",
            with(with(SETTLED, 1, "H/r2 r1+ r2+"), 2, "H/r2 r1+ r1+"),
            restart(Controller, "main", &[0]),
        ),
        case(
            "a later role is not changed while an earlier one is not ready",
            with(with(SETTLED, 1, "H/r2 r2+ r2-"), 2, "OLD/r1 r1+ r1+"),
            wait(
                Controller,
                "main",
                Waiting::PodsNotReady { ready: 1, want: 2 },
            ),
        ),
        case(
            "a changed spec is applied first",
            with(SETTLED, 3, "OLD/r1 r1+ r1+ r1+"),
            Step::Update(id(Server, "hot")),
        ),
        case(
            "the StatefulSet controller has not caught up: wait",
            with(SETTLED, 3, "H/? r1+ r1+ r1+"),
            wait(Server, "hot", Waiting::StatefulSet),
        ),
        case(
            "servers PoolByPool: the whole pool restarts together",
            with(SETTLED, 3, "H/r2 r1+ r1+ r1+"),
            restart(Server, "hot", &[0, 1, 2]),
        ),
        Case {
            verdicts: vec![(
                id(Server, "hot"),
                Verdict::SoleReplicas(
                    "events_OFFLINE segment s0 has no replica outside the pool".into(),
                ),
            )],
            ..case(
                "servers PoolByPool, but the pool holds the only replicas: one pod at a time",
                with(SETTLED, 3, "H/r2 r1+ r1+ r1+"),
                restart(Server, "hot", &[2]),
            )
        },
        Case {
            verdicts: vec![(
                id(Server, "hot"),
                Verdict::NotYet("events_OFFLINE segment s0 on hot-1 is OFFLINE".into()),
            )],
            ..case(
                "servers PoolByPool, one pod of a one-at-a-time wave back but not ready: wait",
                with(SETTLED, 3, "H/r2 r1+ r2- r1+"),
                wait(Server, "hot", Waiting::PodsNotReady { ready: 2, want: 3 }),
            )
        },
        Case {
            verdicts: vec![(
                id(Server, "hot"),
                Verdict::NotYet("events_OFFLINE segment s0 on hot-1 is OFFLINE".into()),
            )],
            ..case(
                "servers PoolByPool while Pinot says the pool is not all there: no whole-pool wave",
                with(SETTLED, 3, "H/r2 r1+ r1+ r1+"),
                wait(
                    Server,
                    "hot",
                    Waiting::Pinot("events_OFFLINE segment s0 on hot-1 is OFFLINE".into()),
                ),
            )
        },
        Case {
            policy: one_by_one,
            ..case(
                "servers OneByOne: one pod at a time",
                with(SETTLED, 3, "H/r2 r1+ r1+ r1+"),
                restart(Server, "hot", &[2]),
            )
        },
        case(
            "shrinking a server pool drains first",
            with(SETTLED, 4, "H/r2*3 r2+ r2+ r2+"),
            Step::ScaleDown {
                pool: id(Server, "cold"),
                from: 3,
                to: 2,
            },
        ),
        case(
            "shrinking brokers is a plain update",
            with(SETTLED, 2, "OLD/r2*3 r2+ r2+ r2+"),
            Step::Update(id(Broker, "default")),
        ),
        Case {
            policy: paused,
            ..case(
                "paused: no step, the held one is reported",
                with(SETTLED, 1, "H/r2 r1+ r1+"),
                Step::Paused(Box::new(restart(Controller, "main", &[1]))),
            )
        },
        Case {
            policy: paused,
            ..case("paused and settled: done", SETTLED, Step::Settled)
        },
        Case {
            verdicts: vec![(
                id(Controller, "main"),
                Verdict::NotYet("Controller_x not registered".into()),
            )],
            ..case(
                "Pinot not there yet: brokers wait",
                with(SETTLED, 2, "H/r2 r1+ r1+"),
                wait(
                    Controller,
                    "main",
                    Waiting::Pinot("Controller_x not registered".into()),
                ),
            )
        },
        Case {
            verdicts: vec![(
                id(Controller, "main"),
                Verdict::Unknown("unreachable".into()),
            )],
            ..case(
                "Pinot unreachable: the rollout waits at the first Pinot pool",
                with(SETTLED, 2, "H/r2 r1+ r1+"),
                wait(
                    Controller,
                    "main",
                    Waiting::PinotUnreachable("unreachable".into()),
                ),
            )
        },
        Case {
            policy: skip_when_unreachable,
            verdicts: vec![(
                id(Controller, "main"),
                Verdict::Unknown("unreachable".into()),
            )],
            ..case(
                "Pinot unreachable and checks skippable: the check is skipped",
                with(SETTLED, 2, "H/r2 r1+ r1+"),
                restart(Broker, "default", &[1]),
            )
        },
        Case {
            verdicts: vec![(id(Server, "hot"), Verdict::Unknown("dns error".into()))],
            ..case(
                "PoolByPool, Pinot unreachable: no pod is restarted blind",
                with(SETTLED, 3, "H/r2 r1+ r1+ r1+"),
                wait(Server, "hot", Waiting::PinotUnreachable("dns error".into())),
            )
        },
        Case {
            verdicts: vec![(id(Server, "hot"), Verdict::Unknown("dns error".into()))],
            ..case(
                "Pinot unreachable: a pod that is not ready is still replaced",
                with(SETTLED, 3, "H/r2 r1+ r1- r1+"),
                restart(Server, "hot", &[1]),
            )
        },
        Case {
            policy: skip_when_unreachable,
            verdicts: vec![(id(Server, "hot"), Verdict::Unknown("dns error".into()))],
            ..case(
                "PoolByPool, Pinot unreachable and checks skippable: the whole pool",
                with(SETTLED, 3, "H/r2 r1+ r1+ r1+"),
                restart(Server, "hot", &[0, 1, 2]),
            )
        },
    ]
}

#[test]
fn planner_table() {
    let targets = targets(SIZES);
    for case in cases() {
        let observed = observed(&targets, case.states);
        let verdicts = case.verdicts.into_iter().collect();
        let step = plan(&targets, &observed, &verdicts, &case.policy);
        assert_eq!(step, case.expect, "case: {}", case.name);
    }
}

/// A three-member ensemble restarts its members one at a time, the leader last, and
/// never a member while another is out of the quorum (not Ready).
#[test]
fn zookeeper_restarts_its_leader_last() {
    use Component::*;
    let targets = targets([3, 2, 2, 3, 2, 1]);
    let leader = |ordinal: i32| Verdict::Leader(format!("c-zookeeper-managed-{ordinal}"));
    let unknown = Verdict::Unknown("no member says it leads".into());
    let cases = [
        (
            "r1+ r1+ r1+",
            leader(2),
            Policy::default(),
            restart(Zookeeper, "managed", &[1]),
        ),
        (
            "r1+ r1+ r2+",
            leader(0),
            Policy::default(),
            restart(Zookeeper, "managed", &[1]),
        ),
        (
            "r1+ r2+ r2+",
            leader(0),
            Policy::default(),
            restart(Zookeeper, "managed", &[0]),
        ),
        (
            "r1+ r1+ r2-",
            leader(0),
            Policy::default(),
            wait(
                Zookeeper,
                "managed",
                Waiting::PodsNotReady { ready: 2, want: 3 },
            ),
        ),
        (
            "r1+ r1+ r1+",
            unknown.clone(),
            Policy::default(),
            wait(
                Zookeeper,
                "managed",
                Waiting::LeaderUnknown("no member says it leads".into()),
            ),
        ),
        (
            "r1+ r1+ r1+",
            unknown,
            Policy {
                pinot_checks: PinotChecks::SkipWhenUnreachable,
                ..Policy::default()
            },
            restart(Zookeeper, "managed", &[2]),
        ),
    ];
    for (pods, verdict, policy, expect) in cases {
        let states = with(
            SETTLED,
            0,
            Box::leak(format!("H/r2 {pods}").into_boxed_str()),
        );
        let observed = observed(&targets, states);
        let verdicts = BTreeMap::from([(PoolId::zookeeper(), verdict.clone())]);
        let step = plan(&targets, &observed, &verdicts, &policy);
        assert_eq!(step, expect, "{pods} with {verdict:?}");
    }
}

/// Whatever the state, an updated pod is never deleted: this is what makes an
/// operator restart mid-rollout cost no extra restarts.
#[test]
fn updated_pods_are_never_restarted() {
    let targets = targets(SIZES);
    for case in cases() {
        let observed = observed(&targets, case.states);
        let step = plan(&targets, &observed, &BTreeMap::new(), &case.policy);
        let step = match step {
            Step::Paused(held) => *held,
            other => other,
        };
        if let Step::Restart { pool, pods } = step {
            let t = targets.iter().find(|t| t.id == pool).unwrap();
            let p = observed.pool(&t.workload).unwrap();
            let revision = p.set.as_ref().unwrap().update_revision.clone();
            for pod in pods {
                let pod = p.pods.iter().find(|x| x.name == pod.name).unwrap();
                assert_ne!(
                    pod.revision, revision,
                    "case {}: restarted updated {}",
                    case.name, pod.name
                );
            }
        }
    }
}

#[test]
fn stopping_goes_in_reverse_and_skips_the_drain() {
    let stopped = Policy {
        stopped: true,
        ..Policy::default()
    };
    let targets = targets([0; 6]);
    // Every pool still runs: the hash differs because replicas went to zero.
    let running = [
        "OLD/r2 r2+",
        "OLD/r2 r2+ r2+",
        "OLD/r2 r2+ r2+",
        "OLD/r2 r2+ r2+ r2+",
        "OLD/r2 r2+ r2+",
        "OLD/r2 r2+",
    ];
    let step = plan(
        &targets,
        &observed(&targets, running),
        &BTreeMap::new(),
        &stopped,
    );
    assert_eq!(step, Step::Update(id(Component::Minion, "default")));
    // Minions gone: the cold servers go next, without a drain.
    let states = with(with(running, 5, "H/r2*0"), 4, "OLD/r2*2 r2+ r2+");
    let step = plan(
        &targets,
        &observed(&targets, states),
        &BTreeMap::new(),
        &stopped,
    );
    assert_eq!(step, Step::Update(id(Component::Server, "cold")));
    // A pool being scaled to zero is waited for.
    let states = with(running, 5, "H/r2*0 r2+");
    let step = plan(
        &targets,
        &observed(&targets, states),
        &BTreeMap::new(),
        &stopped,
    );
    assert_eq!(
        step,
        wait(
            Component::Minion,
            "default",
            Waiting::PodsNotReady { ready: 1, want: 0 }
        )
    );
    // Stopping needs no word from Pinot, which goes away with its pods.
    let unknown: BTreeMap<_, _> = targets
        .iter()
        .map(|t| (t.id.clone(), Verdict::Unknown("no controller".into())))
        .collect();
    let states = with(running, 5, "H/r2*0");
    let step = plan(&targets, &observed(&targets, states), &unknown, &stopped);
    assert_eq!(step, Step::Update(id(Component::Server, "cold")));
}

#[test]
fn progress_counts_ready_pods_on_the_desired_spec() {
    let targets = targets(SIZES);
    assert_eq!(progress(&targets, &observed(&targets, SETTLED)), 1.0);
    assert_eq!(progress(&targets, &observed(&targets, ["-"; 6])), 0.0);
    let half = with(SETTLED, 3, "H/r2 r1+ r1+ r1+");
    let value = progress(&targets, &observed(&targets, half));
    assert!((value - 8.0 / 11.0).abs() < 1e-9, "{value}");
}

#[test]
fn steps_explain_themselves() {
    let step = Step::Paused(Box::new(restart(Component::Server, "hot", &[0])));
    assert_eq!(step.reason(), "Paused");
    assert!(
        step.message().contains("restarting server/hot pods"),
        "{}",
        step.message()
    );
    assert_eq!(step.pool(), Some(&id(Component::Server, "hot")));
    let wait = wait(
        Component::Broker,
        "default",
        Waiting::PodsNotReady { ready: 1, want: 2 },
    );
    assert_eq!(wait.reason(), "WaitingForRole");
    assert_eq!(
        wait.message(),
        "waiting for broker/default: 1/2 pods ready; later pools wait"
    );
}
