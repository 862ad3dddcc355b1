//! Which snapshots a retention policy keeps, in the manner of restic's `forget`: the last N,
//! and the newest snapshot of each of the last N hours, days, weeks (ISO), months and years
//! that have one (in UTC). Pure: the store applies the result.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Serialize;

use crate::ids::SnapshotId;

/// How many snapshots to keep of each kind; 0 keeps none by that rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct KeepPolicy {
    /// The newest N snapshots.
    pub last: u32,
    /// The newest snapshot of each of the last N hours that have one.
    pub hourly: u32,
    /// … days.
    pub daily: u32,
    /// … ISO weeks.
    pub weekly: u32,
    /// … months.
    pub monthly: u32,
    /// … years.
    pub yearly: u32,
}

impl KeepPolicy {
    /// Whether any rule keeps anything (a policy that keeps nothing is refused).
    pub fn is_empty(&self) -> bool {
        *self == KeepPolicy::default()
    }
}

/// The decision for one snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// The snapshot id.
    pub snapshot: SnapshotId,
    /// Its time.
    pub taken_at: Timestamp,
    /// Why it is kept (`last`, `hourly`, …, `latest`); empty when it is forgotten.
    pub reasons: Vec<&'static str>,
}

impl Decision {
    /// Whether the snapshot stays.
    pub fn keep(&self) -> bool {
        !self.reasons.is_empty()
    }
}

/// The bucket of a time for one rule (hour, day, ISO week, month, year).
type Bucket = fn(Timestamp) -> i64;

/// Decides for each snapshot (any order in, newest first out). The newest snapshot is always
/// kept: it is the base of the next incremental capture.
pub fn select(snapshots: &[(SnapshotId, Timestamp)], policy: KeepPolicy) -> Vec<Decision> {
    let mut all: Vec<Decision> = snapshots
        .iter()
        .map(|(id, t)| Decision { snapshot: *id, taken_at: *t, reasons: Vec::new() })
        .collect();
    all.sort_by_key(|d| std::cmp::Reverse((d.taken_at, d.snapshot)));
    let rules: [(&'static str, u32, Bucket); 6] = [
        ("last", policy.last, |_| 0),
        ("hourly", policy.hourly, |t| t.as_second().div_euclid(3600)),
        ("daily", policy.daily, |t| t.as_second().div_euclid(86_400)),
        ("weekly", policy.weekly, |t| {
            let d = t.to_zoned(TimeZone::UTC).date().iso_week_date();
            i64::from(d.year()) * 100 + i64::from(d.week())
        }),
        ("monthly", policy.monthly, |t| {
            let d = t.to_zoned(TimeZone::UTC).date();
            i64::from(d.year()) * 100 + i64::from(d.month())
        }),
        ("yearly", policy.yearly, |t| i64::from(t.to_zoned(TimeZone::UTC).date().year())),
    ];
    for (name, count, bucket) in rules {
        let mut left = count;
        let mut previous: Option<i64> = None;
        for (i, d) in all.iter_mut().enumerate() {
            if left == 0 {
                break;
            }
            // `last` keeps every snapshot; the others the newest of each bucket.
            let b = if name == "last" {
                i64::try_from(i).unwrap_or(i64::MAX)
            } else {
                bucket(d.taken_at)
            };
            if previous != Some(b) {
                d.reasons.push(name);
                left -= 1;
                previous = Some(b);
            }
        }
    }
    if let Some(newest) = all.first_mut()
        && newest.reasons.is_empty()
    {
        newest.reasons.push("latest");
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn kept(snaps: &[(i64, &str)], policy: KeepPolicy) -> Vec<(i64, Vec<&'static str>)> {
        let input: Vec<(SnapshotId, Timestamp)> =
            snaps.iter().map(|(i, t)| (SnapshotId(*i), at(t))).collect();
        select(&input, policy)
            .into_iter()
            .filter(Decision::keep)
            .map(|d| (d.snapshot.0, d.reasons))
            .collect()
    }

    const SNAPS: &[(i64, &str)] = &[
        (1, "2026-01-01T10:00:00Z"),
        (2, "2026-01-01T10:30:00Z"),
        (3, "2026-01-01T11:15:00Z"),
        (4, "2026-01-02T09:00:00Z"),
        (5, "2026-01-09T09:00:00Z"),
        (6, "2026-02-01T00:00:00Z"),
        (7, "2026-02-01T00:05:00Z"),
    ];

    #[test]
    fn keep_last_keeps_the_newest() {
        assert_eq!(
            kept(SNAPS, KeepPolicy { last: 2, ..KeepPolicy::default() }),
            vec![(7, vec!["last"]), (6, vec!["last"])]
        );
    }

    #[test]
    fn buckets_keep_the_newest_of_each_and_count_only_buckets_with_snapshots() {
        assert_eq!(
            kept(SNAPS, KeepPolicy { daily: 3, ..KeepPolicy::default() }),
            vec![(7, vec!["daily"]), (5, vec!["daily"]), (4, vec!["daily"])]
        );
        assert_eq!(
            kept(SNAPS, KeepPolicy { hourly: 10, ..KeepPolicy::default() }),
            vec![
                (7, vec!["hourly"]),
                (5, vec!["hourly"]),
                (4, vec!["hourly"]),
                (3, vec!["hourly"]),
                (2, vec!["hourly"]),
            ]
        );
        assert_eq!(
            kept(SNAPS, KeepPolicy { monthly: 5, weekly: 1, ..KeepPolicy::default() }),
            vec![(7, vec!["weekly", "monthly"]), (5, vec!["monthly"])]
        );
        assert_eq!(
            kept(SNAPS, KeepPolicy { yearly: 1, ..KeepPolicy::default() }),
            vec![(7, vec!["yearly"])]
        );
    }

    #[test]
    fn the_newest_snapshot_is_always_kept() {
        let got = kept(&SNAPS[..3], KeepPolicy { monthly: 0, ..KeepPolicy::default() });
        assert_eq!(got, vec![(3, vec!["latest"])]);
    }
}
