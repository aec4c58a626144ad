//! Which offset may be committed when records of a partition finish out of order: the highest
//! offset below which every record taken is done. A crash then repeats at most the records that
//! were still in flight, never skips one.

use std::collections::{BTreeSet, HashMap};

/// Records taken and not yet finished, per partition.
#[derive(Debug, Default)]
pub struct Offsets {
    open: HashMap<i32, BTreeSet<i64>>,
    /// Highest offset finished, per partition.
    highest_done: HashMap<i32, i64>,
}

impl Offsets {
    /// A record was taken.
    pub fn start(&mut self, partition: i32, offset: i64) {
        self.open.entry(partition).or_default().insert(offset);
    }

    /// A record is done; returns the offset that may now be stored (every record up to and
    /// including it is done), if that moved.
    pub fn finish(&mut self, partition: i32, offset: i64) -> Option<i64> {
        let open = self.open.entry(partition).or_default();
        open.remove(&offset);
        let highest = self.highest_done.entry(partition).or_insert(offset);
        *highest = (*highest).max(offset);
        match open.first() {
            // Something earlier is still open: everything before it is done.
            Some(&first) if first <= offset => None,
            Some(&first) => Some(first - 1),
            None => Some(*highest),
        }
    }

    /// Forgets a partition (revoked).
    pub fn forget(&mut self, partition: i32) {
        self.open.remove(&partition);
        self.highest_done.remove(&partition);
    }

    /// Records still open in all partitions.
    pub fn open(&self) -> usize {
        self.open.values().map(BTreeSet::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committable_offset_waits_for_the_earliest_open_record() {
        let mut o = Offsets::default();
        for offset in 10..14 {
            o.start(0, offset);
        }
        o.start(1, 5);
        assert_eq!(o.finish(0, 12), None, "10 and 11 are still open");
        assert_eq!(o.finish(0, 10), Some(10));
        assert_eq!(o.finish(0, 13), None, "11 is open");
        assert_eq!(o.finish(0, 11), Some(13));
        assert_eq!(o.finish(1, 5), Some(5));
        assert_eq!(o.open(), 0);
        o.start(0, 20);
        o.forget(0);
        assert_eq!(o.open(), 0);
    }
}
