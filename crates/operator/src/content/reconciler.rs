//! The shell around [`ContentResource::sync`]: finalizer, status, Events, requeue.
//!
//! Failures to sync are not reconcile errors: they are written to the `Synced`
//! condition (with Pinot's message verbatim) and an Event, and the object is
//! retried on a schedule that suits the failure. Only Kubernetes API failures
//! while writing status bubble up to the controller's error policy.

use std::sync::Arc;
use std::time::{Duration, Instant};

use api::{DeletionPolicy, PinotSchema};
use futures::StreamExt;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::events::{Event as KubeEvent, EventType};
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::utils::Predicate;
use kube::runtime::{Controller, WatchStreamExt, predicates, reflector, watcher};
use pinot_client::PinotClient;

use super::error::{SyncError, doubts_memory};
use super::ignore::{IGNORE_ANNOTATION, IGNORED, ignore_switch, ignored, ignored_status};
use super::status;
use super::{ContentResource, Outcome, SyncContext, Synced};
use crate::conditions;
use crate::context::Context;
use crate::pinot::{Profile, access};
use crate::stores;

/// Finalizer that keeps an object until its Pinot side is handled.
pub const FINALIZER: &str = "pinot.operator.dev/cleanup";

/// How soon to look again while waiting on something that will likely appear.
const WAIT_RETRY: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("finalizer: {0}")]
    Finalizer(#[source] Box<kube::runtime::finalizer::Error<SyncError>>),
}

impl ReconcileError {
    /// The metric label of a failed reconcile: the sync's reason when the sync (or
    /// the Pinot-side cleanup) failed, else what went wrong with the finalizer.
    pub fn reason(&self) -> &'static str {
        use kube::runtime::finalizer::Error;
        let ReconcileError::Finalizer(error) = self;
        match error.as_ref() {
            Error::ApplyFailed(e) | Error::CleanupFailed(e) => e.reason(),
            Error::AddFinalizer(_) | Error::RemoveFinalizer(_) => "FinalizerUpdateFailed",
            Error::UnnamedObject | Error::InvalidFinalizer => "InvalidObject",
        }
    }
}

/// A schema turning Synced lets the objects waiting for it (tables) go on at once,
/// rather than at their next retry. Only a change of its Synced condition counts (not
/// the timestamp every resync writes), and only objects not in sync are woken.
///
/// This watch feeds the schema store those objects read, before it wakes them: woken
/// by a watch other than the store's, a table may read its schema's old status and
/// sleep until its retry. So fed, 725 of 1,000 tables of a bulk apply were created
/// within 2 s of their schema.
fn follow_schemas<K: ContentResource>(
    controller: Controller<K>,
    ctx: &Context,
    waiting: reflector::Store<K>,
) -> Controller<K> {
    let schemas = watcher(ctx.api::<PinotSchema>(), ctx.managed_objects())
        .default_backoff()
        .modify(crate::cache::slim)
        .reflect(ctx.writers().schemas())
        .applied_objects()
        .predicate_filter(synced_condition, Default::default());
    controller.watches_stream(schemas, move |schema| {
        let ns = schema.namespace();
        let name = schema.name_any();
        waiting
            .state()
            .into_iter()
            .filter(|o| o.namespace() == ns && o.schema_ref() == Some(name.as_str()))
            .filter(|o| !status::in_sync(o.as_ref()))
            .map(|o| ObjectRef::from_obj(&*o))
            .collect::<Vec<_>>()
    })
}

/// A cluster's spec changing (its URL or credentials: Pinot may be another one), or its
/// deletion, re-syncs everything that references it; its turning available, what
/// failed. Its other status writes wake nobody: at a bulk apply, its first status
/// write re-ran the syncs already under way, which then met their own creates (409)
/// in Pinot.
fn follow_clusters<K: ContentResource>(
    controller: Controller<K>,
    ctx: &Context,
    referencing: reflector::Store<K>,
) -> Controller<K> {
    let clusters = watcher(ctx.cluster_api(), ctx.managed_objects())
        .default_backoff()
        .applied_objects()
        .predicate_filter(spec_or_availability, Default::default());
    let generations = std::sync::Mutex::new(std::collections::HashMap::new());
    controller.watches_stream(clusters, move |cluster| {
        let (ns, name) = (cluster.namespace(), cluster.name_any());
        let generation = cluster.metadata.generation;
        let key = ObjectRef::from_obj(&cluster);
        let mut seen = generations.lock().unwrap_or_else(|e| e.into_inner());
        let deleting = cluster.metadata.deletion_timestamp.is_some();
        // First seen (a new cluster, or the operator starting): what references it is
        // being synced already, but for what failed without it.
        let seen_before = seen.insert(key, generation);
        let spec_changed = seen_before.is_some_and(|g| g != generation) || deleting;
        (referencing.state().into_iter())
            .filter(|o| o.namespace() == ns && o.cluster_name() == name)
            .filter(|o| spec_changed || status::failed(o.as_ref()))
            .map(|o| ObjectRef::from_obj(&*o))
            .collect::<Vec<_>>()
    })
}

/// Hash of a cluster's generation, `Available` condition status and deletion.
fn spec_or_availability(cluster: &api::PinotCluster) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let available = (cluster.status.as_ref())
        .and_then(|s| conditions::find(&s.conditions, api::common::condition::AVAILABLE))
        .map(|c| c.status.clone());
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    let deleting = cluster.metadata.deletion_timestamp.is_some();
    (cluster.metadata.generation, available, deleting).hash(&mut hasher);
    Some(hasher.finish())
}

/// Hash of a schema's `Synced` status, reason and observed generation.
fn synced_condition(schema: &PinotSchema) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let synced = status::synced(schema)?;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (&synced.status, &synced.reason, synced.observed_generation).hash(&mut hasher);
    Some(hasher.finish())
}

/// Runs the controller for kind `K` until `shutdown` resolves.
pub async fn run<K: ContentResource>(
    ctx: Arc<Context>,
    api: Api<K>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    // Status writes must not trigger another reconcile (they would replace `Created` by
    // `InSync` at once and double the API traffic): only spec (generation), finalizer
    // and ignore-annotation changes do, plus the periodic resync.
    let writer = reflector::store::Writer::default();
    let store = writer.as_reader();
    let changes = watcher(api, ctx.managed_objects().any_semantic())
        .default_backoff()
        .modify(crate::cache::slim)
        .reflect(writer)
        .applied_objects()
        .predicate_filter(
            (predicates::generation)
                .combine(predicates::finalizers)
                .combine(ignore_switch),
            Default::default(),
        );
    let controller =
        Controller::for_stream(changes, store.clone()).with_config(ctx.controller_config());
    let controller = match K::FOLLOWS_SCHEMAS {
        true => follow_schemas(controller, &ctx, store.clone()),
        false => controller,
    };
    follow_clusters(controller, &ctx, store)
        .graceful_shutdown_on(shutdown)
        .run(reconcile::<K>, error_policy::<K>, ctx)
        .for_each(|_| futures::future::ready(()))
        .await;
}

#[tracing::instrument(skip_all, fields(kind = %K::kind(&()), namespace = obj.namespace(), name = obj.name_any()))]
async fn reconcile<K: ContentResource>(
    obj: Arc<K>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    let started = Instant::now();
    let namespace = obj.namespace().unwrap_or_default();
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &namespace);
    let result = if needs_finalizer(obj.as_ref()) {
        finalizer(&api, FINALIZER, obj, |event| async {
            match event {
                Finalizer::Apply(obj) => apply(obj.as_ref(), &ctx).await,
                Finalizer::Cleanup(obj) => cleanup(obj.as_ref(), &ctx).await,
            }
        })
        .await
    } else if obj.meta().deletion_timestamp.is_some() {
        Ok(Action::await_change())
    } else {
        apply(obj.as_ref(), &ctx)
            .await
            .map_err(kube::runtime::finalizer::Error::ApplyFailed)
    }
    .map_err(|e| ReconcileError::Finalizer(Box::new(e)));
    let failure = result.as_ref().err().map(ReconcileError::reason);
    ctx.metrics
        .reconciled(K::CONTROLLER, started.elapsed(), failure);
    result
}

/// Only `deletionPolicy: Delete` has work to do in Pinot when the object goes, so
/// only then does the object carry the finalizer. A `Retain` object is deleted at
/// once, even with the operator or its PinotCluster gone. One that already carries
/// the finalizer (it was `Delete` before) keeps it until deletion, which releases it
/// without touching Pinot.
fn needs_finalizer<K: ContentResource>(obj: &K) -> bool {
    obj.deletion_policy() == DeletionPolicy::Delete
        || obj.finalizers().iter().any(|f| f == FINALIZER)
}

fn error_policy<K: ContentResource>(
    _obj: Arc<K>,
    error: &ReconcileError,
    _ctx: Arc<Context>,
) -> Action {
    tracing::warn!(%error, "reconcile failed");
    Action::requeue(WAIT_RETRY)
}

/// The (cached) Pinot client of the object's cluster.
async fn pinot_for<K: ContentResource>(
    obj: &K,
    namespace: &str,
    ctx: &Context,
) -> Result<PinotClient, SyncError> {
    let name = obj.cluster_name();
    let clusters = &ctx.stores.clusters;
    let cluster = stores::find(clusters, &ctx.client, namespace, name)
        .await?
        .ok_or_else(|| SyncError::ClusterNotFound(name.to_owned()))?;
    let config = access::resolve(&ctx.client, &cluster).await?;
    ctx.pinot
        .get(&cluster, Profile::Content, config)
        .map_err(|e| SyncError::ClusterNotReady(e.to_string()))
}

async fn sync_once<K: ContentResource>(obj: &K, ctx: &Context) -> Result<Synced, SyncError> {
    let namespace = obj.namespace().unwrap_or_default();
    let pinot = pinot_for(obj, &namespace, ctx).await?;
    let cluster = memory_key(obj, &namespace, &pinot);
    let status = obj.content_status();
    let cx = SyncContext {
        applied_hash: status.and_then(|s| s.applied_hash.as_deref()),
        pending_follow_ups: status.map_or(&[], |s| &s.pending_follow_ups),
        last_failed: status::synced(obj)
            .is_some_and(|c| c.status == "False" && doubts_memory(&c.reason)),
        ..sync_context(ctx, &pinot, &namespace, &cluster)
    };
    let result = obj.sync(&cx).await;
    // What is remembered of this cluster's tenants is not trusted past a failure.
    if result.as_ref().is_err_and(SyncError::doubts_pinot) {
        ctx.known.tenants.forget(&cluster);
    }
    result
}

/// The cluster's key in what the operator remembers of Pinot: a new URL is another
/// Pinot, with nothing of the old one's remembered.
fn memory_key<K: ContentResource>(obj: &K, namespace: &str, pinot: &PinotClient) -> String {
    format!("{namespace}/{} {}", obj.cluster_name(), pinot.base_url())
}

/// What a sync or a removal talks to, as if nothing had been applied before.
fn sync_context<'a>(
    ctx: &'a Context,
    pinot: &'a PinotClient,
    namespace: &'a str,
    cluster: &'a str,
) -> SyncContext<'a> {
    SyncContext {
        pinot,
        kube: &ctx.client,
        schemas: &ctx.stores.schemas,
        namespace,
        applied_hash: None,
        pending_follow_ups: &[],
        last_failed: false,
        known: &ctx.known,
        cluster,
        resync: ctx.resync,
    }
}

async fn apply<K: ContentResource>(obj: &K, ctx: &Context) -> Result<Action, SyncError> {
    if ignored(obj) {
        return leave_alone(obj, ctx).await;
    }
    let result = sync_once(obj, ctx).await;
    if let Err(SyncError::Waiting(_)) = &result {
        return Ok(Action::requeue(WAIT_RETRY));
    }
    if let Err(e) = &result {
        ctx.metrics.sync_failed(K::CONTROLLER, e.reason());
    }
    let previous_reason = status::synced(obj).map(|c| c.reason.clone());
    for event in sync_events(obj, &result, previous_reason.as_deref()) {
        ctx.publish(&event, &obj.object_ref(&())).await;
    }
    write_status(obj, ctx, result.as_ref()).await?;
    Ok(match &result {
        Ok(Synced {
            follow_up_failure: Some(failure),
            ..
        }) if failure.retry_soon => Action::requeue(WAIT_RETRY),
        Ok(_) => Action::requeue(ctx.next_resync()),
        Err(e) if e.needs_spec_change() => Action::requeue(ctx.next_resync()),
        Err(_) => Action::requeue(WAIT_RETRY),
    })
}

/// An ignored object: no Pinot call, status and an Event say why; the annotation's
/// removal is what wakes it.
async fn leave_alone<K: ContentResource>(obj: &K, ctx: &Context) -> Result<Action, SyncError> {
    let current = obj.content_status();
    let was_ignored = status::synced(obj).is_some_and(|c| c.reason == IGNORED);
    let status = ignored_status(current, obj.meta().generation, &obj.pinot_object());
    if !was_ignored {
        let note = format!(
            "{IGNORE_ANNOTATION}=true: no Pinot call for {} until it is removed",
            obj.pinot_object()
        );
        ctx.publish(&normal(IGNORED, "Sync", note), &obj.object_ref(&()))
            .await;
    }
    crate::status::patch(&ctx.client, obj, current, status).await?;
    Ok(Action::await_change())
}

async fn write_status<K: ContentResource>(
    obj: &K,
    ctx: &Context,
    result: Result<&Synced, &SyncError>,
) -> Result<(), SyncError> {
    let object = obj.pinot_object();
    let subject = status::Subject {
        current: obj.content_status(),
        generation: obj.meta().generation,
        object: &object,
        desired_hash: obj.desired_hash(),
    };
    let status = status::next(subject, result, Timestamp::now());
    let current = obj.content_status().cloned().unwrap_or_default();
    crate::status::patch(&ctx.client, obj, Some(&current), status).await?;
    Ok(())
}

/// Events for what changed in Pinot, and for failures when the reason changes (the
/// condition carries the rest; repeating the same failure every retry is noise).
fn sync_events<K: ContentResource>(
    obj: &K,
    result: &Result<Synced, SyncError>,
    previous_reason: Option<&str>,
) -> Vec<KubeEvent> {
    let object = obj.pinot_object();
    let synced = match result {
        Err(e) if previous_reason == Some(e.reason()) => return vec![],
        Err(e) => return vec![warning(e.reason(), "Sync", e.to_string())],
        Ok(synced) => synced,
    };
    let mut events = vec![];
    match synced.outcome {
        Outcome::Created => events.push(normal(
            "Created",
            "Create",
            format!("created {object} in Pinot"),
        )),
        Outcome::Updated => events.push(normal(
            "Updated",
            "Update",
            format!("updated {object} in Pinot {}", synced.notes.join("; ")),
        )),
        Outcome::InSync => {}
    }
    if let Some(failure) = &synced.follow_up_failure
        && previous_reason != Some(status::FOLLOW_UP_FAILED)
    {
        let note = format!("{object}: {}", failure.message);
        events.push(warning(status::FOLLOW_UP_FAILED, "FollowUp", note));
    }
    events
}

fn warning(reason: &str, action: &str, note: String) -> KubeEvent {
    KubeEvent {
        type_: EventType::Warning,
        reason: reason.into(),
        note: Some(note),
        action: action.into(),
        secondary: None,
    }
}

fn normal(reason: &str, action: &str, note: String) -> KubeEvent {
    KubeEvent {
        type_: EventType::Normal,
        reason: reason.into(),
        note: Some(note.trim_end().to_owned()),
        action: action.into(),
        secondary: None,
    }
}

async fn cleanup<K: ContentResource>(obj: &K, ctx: &Context) -> Result<Action, SyncError> {
    let object = obj.pinot_object();
    if obj.deletion_policy() == DeletionPolicy::Retain || ignored(obj) {
        let why = match ignored(obj) {
            true => format!("{IGNORE_ANNOTATION}=true"),
            false => "deletionPolicy is Retain".to_owned(),
        };
        let note = format!("{why}: {object} stays in Pinot");
        ctx.publish(&normal("Retained", "Delete", note), &obj.object_ref(&()))
            .await;
        return Ok(Action::await_change());
    }
    let result = async {
        let namespace = obj.namespace().unwrap_or_default();
        let pinot = pinot_for(obj, &namespace, ctx).await?;
        let cluster = memory_key(obj, &namespace, &pinot);
        obj.remove(&sync_context(ctx, &pinot, &namespace, &cluster))
            .await
    }
    .await;
    match result {
        Ok(()) => {
            ctx.publish(
                &normal("Deleted", "Delete", format!("deleted {object} from Pinot")),
                &obj.object_ref(&()),
            )
            .await;
            Ok(Action::await_change())
        }
        Err(e) => {
            ctx.metrics.sync_failed(K::CONTROLLER, e.reason());
            // The finalizer stays until Pinot confirms; say why in status and an Event.
            write_status(obj, ctx, Err(&e)).await?;
            let note = format!("deleting {object} from Pinot waits: {e}");
            ctx.publish(&warning(e.reason(), "Delete", note), &obj.object_ref(&()))
                .await;
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests;
