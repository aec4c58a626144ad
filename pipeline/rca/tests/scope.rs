//! Scope across calls: the smallest significant entity, and alerts with hysteresis.

use callsight_model::types::{AlertState, CauseCode, EntityKind};
use callsight_rca::{LegObservation, RcaConfig, ScopeTracker};

const MIN: i64 = 60_000;

fn leg(id: &str, end: i64, bad: bool, radio: &str) -> LegObservation {
    LegObservation {
        leg_id: id.into(),
        org_id: "org".into(),
        site_id: Some("site".into()),
        end,
        bad,
        cause: if bad {
            CauseCode::WirelessChannelUtilization
        } else {
            CauseCode::UnknownNoNetworkAnomaly
        },
        entities: vec![
            (EntityKind::ApRadio, radio.into()),
            (EntityKind::Ap, "ap-1".into()),
            (EntityKind::Site, "site".into()),
        ],
        sequence: None,
    }
}

#[test]
fn an_isolated_bad_call_is_scoped_to_its_radio_with_its_counts() {
    let config = RcaConfig::default();
    let tracker = ScopeTracker::new();
    let scope = tracker
        .scope_for(&leg("x", 100 * MIN, true, "r1"), &config)
        .expect("a scope");
    assert_eq!(scope.kind, EntityKind::ApRadio);
    assert_eq!((scope.calls_affected, scope.calls_total), (1, 1));
}

#[test]
fn many_bad_calls_on_other_radios_of_one_ap_make_the_ap_the_scope() {
    let config = RcaConfig::default();
    let mut tracker = ScopeTracker::new();
    for i in 0..5 {
        tracker.observe(leg(&format!("b{i}"), 90 * MIN, true, &format!("r{i}")));
    }
    let scope = tracker
        .scope_for(&leg("x", 100 * MIN, true, "r9"), &config)
        .expect("a scope");
    assert_eq!(scope.kind, EntityKind::Ap, "{scope:?}");
    assert_eq!(scope.calls_affected, 6);
}

#[test]
fn re_observing_a_leg_replaces_it() {
    let config = RcaConfig::default();
    let mut tracker = ScopeTracker::new();
    tracker.observe(leg("a", 90 * MIN, true, "r1"));
    tracker.observe(leg("a", 90 * MIN, true, "r1"));
    assert_eq!(tracker.len(), 1);
    let scope = tracker
        .scope_for(&leg("x", 100 * MIN, true, "r1"), &config)
        .expect("a scope");
    assert_eq!(scope.calls_affected, 2);
}

#[test]
fn alerts_are_raised_once_and_cleared_once() {
    let config = RcaConfig::default();
    let mut tracker = ScopeTracker::new();
    for i in 0..2 {
        tracker.observe(leg(&format!("b{i}"), 10 * MIN + i, true, "r1"));
    }
    assert!(
        tracker.update_alerts(11 * MIN, &config).is_empty(),
        "two calls are not enough"
    );

    for i in 2..6 {
        tracker.observe(leg(&format!("b{i}"), 12 * MIN + i, true, "r1"));
    }
    let raised = tracker.update_alerts(13 * MIN, &config);
    let radio: Vec<_> = raised
        .iter()
        .filter(|a| a.scope.kind == EntityKind::ApRadio)
        .collect();
    assert_eq!(radio.len(), 1, "{raised:#?}");
    assert_eq!(radio[0].state, AlertState::Raised);
    assert_eq!(radio[0].cause, CauseCode::WirelessChannelUtilization);
    assert_eq!(radio[0].scope.calls_affected, 6);
    let id = radio[0].alert_id.clone();

    // Nothing new: no repeated alert.
    assert!(tracker.update_alerts(14 * MIN, &config).is_empty());

    // One more bad call keeps it raised without a new message.
    tracker.observe(leg("b6", 20 * MIN, true, "r1"));
    assert!(
        tracker
            .update_alerts(21 * MIN, &config)
            .iter()
            .all(|a| a.scope.kind != EntityKind::ApRadio)
    );

    // Once the window has moved past the bad calls, the alert clears, once, under its id.
    let cleared = tracker.update_alerts(90 * MIN, &config);
    let radio: Vec<_> = cleared
        .iter()
        .filter(|a| a.scope.kind == EntityKind::ApRadio)
        .collect();
    assert_eq!(radio.len(), 1, "{cleared:#?}");
    assert_eq!(radio[0].state, AlertState::Cleared);
    assert_eq!(radio[0].alert_id, id);
    assert!(tracker.update_alerts(91 * MIN, &config).is_empty());
}

#[test]
fn a_rate_between_raise_and_clear_does_not_flap() {
    let config = RcaConfig {
        alert_alpha: 0.001,
        ..RcaConfig::default()
    };
    let mut tracker = ScopeTracker::new();
    // Bad calls that are significant at 5 % but not at 0.1 %: no alert is raised.
    for i in 0..3 {
        tracker.observe(leg(&format!("b{i}"), 10 * MIN + i, true, "r1"));
    }
    for i in 0..7 {
        tracker.observe(leg(&format!("g{i}"), 10 * MIN + i, false, "r1"));
    }
    let alerts = tracker.update_alerts(11 * MIN, &config);
    assert!(
        alerts.iter().all(|a| a.scope.kind != EntityKind::ApRadio),
        "{alerts:#?}"
    );
}

/// Another org's calls through an entity of the same id count neither for a leg's scope nor
/// for alerts: the scope and the alerts are the org's own.
#[test]
fn another_orgs_calls_on_the_same_entity_ids_do_not_count() {
    let config = RcaConfig::default();
    let mut tracker = ScopeTracker::new();
    for i in 0..6 {
        let mut other = leg(&format!("other{i}"), 90 * MIN + i, true, "r1");
        other.org_id = "another-org".into();
        tracker.observe(other);
    }
    let scope = tracker
        .scope_for(&leg("x", 100 * MIN, true, "r1"), &config)
        .expect("a scope");
    assert_eq!((scope.calls_affected, scope.calls_total), (1, 1));
    let alerts = tracker.update_alerts(100 * MIN, &config);
    assert!(
        !alerts.is_empty(),
        "the other org's six calls raise its alert"
    );
    assert!(
        alerts
            .iter()
            .all(|a| a.org_id == "another-org" && a.alert_id.starts_with("another-org|")),
        "{alerts:?}"
    );
}
