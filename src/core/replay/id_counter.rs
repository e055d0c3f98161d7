//! Node ids. The shell keeps each node's id on the node (Rust cannot hash DOM nodes);
//! the `IdCounter` decides what id a node gets: the one it already has (so a checkout
//! reuses ids), or the next never-used one. A snapshot numbers the children of a node
//! together when it reads them (the JS reader hands out a chunk's ids from `peek_next()`
//! on), so in a first snapshot a parent's id is below its children's: Document 1, doctype
//! 2, html 3…

#[derive(Debug)]
pub struct IdCounter {
    next_id: u32,
}

impl Default for IdCounter {
    fn default() -> Self {
        Self::new()
    }
}

impl IdCounter {
    pub fn new() -> Self {
        Self { next_id: 1 }
    }

    /// The id of a node that has `known` (from an earlier snapshot) or a fresh one;
    /// the bool is `true` when the id is fresh (the caller must remember it).
    pub fn id_for(&mut self, known: Option<u32>) -> (u32, bool) {
        match known {
            Some(id) => (id, false),
            None => {
                let id = self.next_id;
                self.next_id += 1;
                (id, true)
            }
        }
    }

    /// Ids below `next` were given out by someone else (the JS reader, which numbers the
    /// nodes of a chunk from `peek_next()` on).
    pub fn reserve_until(&mut self, next: u32) {
        self.next_id = self.next_id.max(next);
    }

    /// The id the next new node will get.
    pub fn peek_next(&self) -> u32 {
        self.next_id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hands_out_increasing_ids_and_reuses_known_ones() {
        let mut ids = IdCounter::new();
        assert_eq!(ids.id_for(None), (1, true));
        assert_eq!(ids.id_for(None), (2, true));
        assert_eq!(ids.id_for(Some(1)), (1, false));
        assert_eq!(ids.id_for(None), (3, true));
        assert_eq!(ids.peek_next(), 4);
    }
}
