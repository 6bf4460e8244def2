//! The notification outbox as delivery gateways read it, called without HTTP:
//! only service accounts with `outbox:read` read and acknowledge; pending
//! notifications come in id order after a given id; an acknowledged one is no
//! longer pending, acknowledging again changes nothing, and an unknown id is not
//! found.

use api::access::Actor;
use api::use_cases::outbox as cases;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::account::Scope;
use persistence::outbox::{NotificationKind, PendingNotification, enqueue};
use persistence::schema::outbox;
use serde_json::json;
use tests::{UseCaseDb, exam_number};

use crate::support::{World, forbidden, not_found, world};

// ---------------------------------------------------------------------------
// The world and its helpers
// ---------------------------------------------------------------------------

/// The sample world with an SMS gateway (`outbox:read`), a verifying service
/// account without that scope, an admin, and three notifications for the
/// candidate.
struct People {
    db: UseCaseDb,
    gateway: Actor,
    verifier: Actor,
    admin: Actor,
    staff: Actor,
    candidate: Actor,
    /// The ids of the three notifications, in order.
    queued: Vec<i64>,
}

fn people() -> People {
    let World {
        mut db,
        owner: candidate,
        staff,
    } = world();
    let gateway = db.service_account("sms-gateway", &[Scope::OutboxRead]);
    let verifier = db.service_account(
        "chsi-sync",
        &[Scope::VerificationWrite, Scope::ApplicationsRead],
    );
    let admin = db.admin("admin");
    let queued = (1..=3)
        .map(|n| {
            enqueue(
                &mut db.conn,
                NotificationKind::ApplicationStatus,
                candidate.id,
                &json!({"n": n}),
            )
            .unwrap()
        })
        .collect();
    People {
        db,
        gateway,
        verifier,
        admin,
        staff,
        candidate,
        queued,
    }
}

fn ids(page: &[PendingNotification]) -> Vec<i64> {
    page.iter().map(|n| n.id).collect()
}

fn pending_ids(p: &mut People, after: Option<i64>) -> Vec<i64> {
    ids(&cases::pending(&mut p.db.conn, &p.gateway, after, 100).unwrap())
}

/// When notification `id` was acknowledged, read directly.
fn acked_at(db: &mut UseCaseDb, id: i64) -> Option<DateTime<Utc>> {
    outbox::table
        .find(id)
        .select(outbox::acked_at)
        .first(&mut db.conn)
        .unwrap()
}

// ---------------------------------------------------------------------------
// pending
// ---------------------------------------------------------------------------

#[test]
fn a_gateway_reads_pending_notifications_in_order_with_their_recipient() {
    let mut p = people();
    let page = cases::pending(&mut p.db.conn, &p.gateway, None, 100).unwrap();
    assert_eq!(ids(&page), p.queued);
    assert!(p.queued.windows(2).all(|w| w[0] < w[1]));
    let first = &page[0];
    assert_eq!(first.kind, NotificationKind::ApplicationStatus);
    assert_eq!(first.payload, json!({"n": 1}));
    assert_eq!(first.account_id, p.candidate.id);
    assert_eq!(first.exam_number, Some(exam_number(1)));
    assert_eq!(first.name, "考生1");
    assert_eq!(first.phone.as_deref(), Some("13800138000"));
    assert_eq!(page[2].payload, json!({"n": 3}));
}

#[test]
fn after_and_limit_page_through_the_outbox() {
    let mut p = people();
    let q = p.queued.clone();
    let page = |p: &mut People, after, limit| {
        ids(&cases::pending(&mut p.db.conn, &p.gateway, after, limit).unwrap())
    };
    assert_eq!(page(&mut p, None, 2), q[..2]);
    assert_eq!(page(&mut p, Some(q[1]), 2), q[2..]);
    assert_eq!(page(&mut p, Some(q[0]), 1), q[1..2]);
    assert_eq!(page(&mut p, Some(q[2]), 2), Vec::<i64>::new());
    // Between ids, and from before the first one.
    assert_eq!(page(&mut p, Some(0), 100), q);
    assert_eq!(page(&mut p, Some(q[0] - 1), 100), q);
}

#[test]
fn only_service_accounts_with_outbox_read_see_the_outbox() {
    let mut p = people();
    for nobody in [&p.verifier, &p.admin, &p.staff, &p.candidate] {
        forbidden(cases::pending(&mut p.db.conn, nobody, None, 100));
        forbidden(cases::require_reader(nobody));
    }
    cases::require_reader(&p.gateway).unwrap();
}

// ---------------------------------------------------------------------------
// ack
// ---------------------------------------------------------------------------

#[test]
fn an_acknowledged_notification_is_no_longer_pending() {
    let mut p = people();
    let q = p.queued.clone();
    cases::ack(&mut p.db.conn, &p.gateway, q[1]).unwrap();
    assert_eq!(pending_ids(&mut p, None), vec![q[0], q[2]]);
    assert!(acked_at(&mut p.db, q[1]).is_some());
    assert_eq!(acked_at(&mut p.db, q[0]), None);
    // Paging skips it too.
    assert_eq!(pending_ids(&mut p, Some(q[0])), vec![q[2]]);

    cases::ack(&mut p.db.conn, &p.gateway, q[0]).unwrap();
    cases::ack(&mut p.db.conn, &p.gateway, q[2]).unwrap();
    assert_eq!(pending_ids(&mut p, None), Vec::<i64>::new());
}

#[test]
fn acknowledging_twice_is_ok_and_keeps_the_first_time() {
    let mut p = people();
    let id = p.queued[0];
    cases::ack(&mut p.db.conn, &p.gateway, id).unwrap();
    let first = acked_at(&mut p.db, id).expect("acknowledged");
    std::thread::sleep(std::time::Duration::from_millis(5));
    cases::ack(&mut p.db.conn, &p.gateway, id).unwrap();
    assert_eq!(acked_at(&mut p.db, id), Some(first));
    assert_eq!(pending_ids(&mut p, None), p.queued[1..]);
}

#[test]
fn an_unknown_notification_is_not_found() {
    let mut p = people();
    let last = *p.queued.last().unwrap();
    not_found(cases::ack(&mut p.db.conn, &p.gateway, last + 1));
    not_found(cases::ack(&mut p.db.conn, &p.gateway, 0));
    not_found(cases::ack(&mut p.db.conn, &p.gateway, -1));
    assert_eq!(pending_ids(&mut p, None), p.queued);
}

#[test]
fn only_a_reader_acknowledges_and_a_refused_ack_changes_nothing() {
    let mut p = people();
    let id = p.queued[0];
    for nobody in [&p.verifier, &p.admin, &p.staff, &p.candidate] {
        forbidden(cases::ack(&mut p.db.conn, nobody, id));
        // Refused before the id is looked up.
        forbidden(cases::ack(&mut p.db.conn, nobody, -1));
    }
    assert_eq!(acked_at(&mut p.db, id), None);
    assert_eq!(pending_ids(&mut p, None), p.queued);
}
