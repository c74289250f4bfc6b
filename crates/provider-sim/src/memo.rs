//! Generated data kept between requests. A user's synthetic data is a pure function of the user and the civil day
//! (today), and generating it costs far more than serving it: a night's sleep stages, then the Google point made of
//! them. Without a memo every page of a 12-month read regenerated a year of nights to answer with 25 of them, and 200
//! clients reading one simulated user made the simulator the bottleneck of ds-agent's benchmarks.
//!
//! So the shared state keeps, for the most recently used users ([`SimConfig::memo_users`]) of the current day, the user's
//! [`History`] and its Google points ([`GoogleDays`]), both filled lazily, one day and one kind of item at a time
//! ([`crate::column::Column`]), outside the state mutex. All of it is dropped when the day changes. Nights, the bulk, are kept as
//! JSON text: a user whose whole two years were read takes about 12 MB, a 12-month first sync about half. Only what
//! generation gives is kept: the run-time switches (encoding, phone source, a night still processing, defects,
//! unstable names), the added exercises, faults, rate limits and latency apply on top, per request, exactly as
//! without the memo.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDate;

use crate::dataset::History;
use crate::google::GoogleDays;

/// What the memo keeps of one user.
pub(crate) struct UserData {
    pub history: History,
    pub google: GoogleDays,
}

impl UserData {
    /// Empty yet: it fills as requests ask for days.
    pub(crate) fn new(user: &str, today: NaiveDate) -> UserData {
        let history = History::new(user, today);
        let google = GoogleDays::new(&history);
        UserData { history, google }
    }
}

struct Entry {
    data: Arc<UserData>,
    /// The memo's clock at the last use, for eviction.
    used: u64,
}

/// The users' data of one day, at most `capacity` of them.
pub(crate) struct Memo {
    today: Option<NaiveDate>,
    users: HashMap<String, Entry>,
    clock: u64,
    capacity: usize,
}

impl Memo {
    pub(crate) fn new(capacity: usize) -> Memo {
        Memo { today: None, users: HashMap::new(), clock: 0, capacity: capacity.max(1) }
    }

    /// Keeps at most `capacity` users from now on (at least one); the least recently used go first.
    pub(crate) fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity.max(1);
        while self.users.len() > self.capacity {
            let oldest = self.users.iter().min_by_key(|(_, entry)| entry.used).map(|(user, _)| user.clone());
            if let Some(oldest) = oldest {
                self.users.remove(&oldest);
            }
        }
    }

    /// The data of `user` as of `today`, if kept; a new day drops everything kept.
    pub(crate) fn get(&mut self, user: &str, today: NaiveDate) -> Option<Arc<UserData>> {
        if self.today != Some(today) {
            self.users.clear();
            self.today = Some(today);
        }
        self.clock += 1;
        let entry = self.users.get_mut(user)?;
        entry.used = self.clock;
        Some(entry.data.clone())
    }

    /// Keeps `data` unless it is of another day than the memo's or the user's data is already kept (two requests
    /// missed at once): what to serve from, the kept data if any.
    pub(crate) fn insert(&mut self, data: Arc<UserData>) -> Arc<UserData> {
        if self.today != Some(data.history.last()) {
            return data;
        }
        let user = data.history.user();
        if let Some(kept) = self.users.get(user) {
            return kept.data.clone();
        }
        if self.users.len() >= self.capacity {
            let oldest = self.users.iter().min_by_key(|(_, entry)| entry.used).map(|(user, _)| user.clone());
            if let Some(oldest) = oldest {
                self.users.remove(&oldest);
            }
        }
        self.clock += 1;
        self.users.insert(user.to_string(), Entry { data: data.clone(), used: self.clock });
        data
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DEFAULT_MEMO_USERS;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn keeps_the_recent_users_of_the_day() {
        let today = day("2026-03-31");
        let mut memo = Memo::new(DEFAULT_MEMO_USERS);
        assert!(memo.get("A", today).is_none());
        let a = memo.insert(Arc::new(UserData::new("A", today)));
        assert!(Arc::ptr_eq(&a, &memo.get("A", today).unwrap()));
        // A second miss at once is served from the first.
        assert!(Arc::ptr_eq(&a, &memo.insert(Arc::new(UserData::new("A", today)))));
        for n in 0..DEFAULT_MEMO_USERS {
            memo.get("A", today);
            memo.insert(Arc::new(UserData::new(&format!("U{n}"), today)));
        }
        assert_eq!(memo.users.len(), DEFAULT_MEMO_USERS);
        assert!(memo.get("A", today).is_some(), "the most used one stays");
        assert!(memo.get("U0", today).is_none(), "the least recently used one goes");
        // Another day: nothing kept, and data of the day before is not kept either.
        let tomorrow = day("2026-04-01");
        assert!(memo.get("A", tomorrow).is_none());
        memo.insert(Arc::new(UserData::new("B", today)));
        assert!(memo.get("B", tomorrow).is_none());
    }
}
