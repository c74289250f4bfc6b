//! A column of per-day values generated on first use: how a user's history and its Google points keep what they
//! generated.

use std::sync::OnceLock;

/// One value per day of a history, each generated on first use. Concurrent first uses of a day wait for one
/// generation; other days are not held up.
pub(crate) struct Column<T>(Box<[OnceLock<T>]>);

impl<T> Column<T> {
    pub(crate) fn new(days: usize) -> Column<T> {
        Column((0..days).map(|_| OnceLock::new()).collect())
    }

    /// How many days it has room for.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// The value of the day at `index`, made by `make` if it is the first use. `None` past the last day.
    pub(crate) fn get(&self, index: usize, make: impl FnOnce() -> T) -> Option<&T> {
        self.0.get(index).map(|cell| cell.get_or_init(make))
    }
}
