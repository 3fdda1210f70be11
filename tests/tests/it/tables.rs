//! The generated security tables, as the hooks read them on every call: every system's, as
//! the registry (`specs/systems.toml`) lists them.

use cxkit::clients::ejento_platform;
use cxkit_auth::{ApiSecurity, operation_hash};

// `TABLES`, written by `cargo xtask generate` from the registry.
#[rustfmt::skip]
#[path = "../../shared/security_tables.rs"]
mod security_tables;

use security_tables::TABLES;

/// Where `id` sits in the table's hash index, probing as `ApiSecurity::operation` does, or
/// `None` if the index does not lead to it.
fn probe(api: &ApiSecurity, id: &str) -> Option<usize> {
    let len = api.index.len();
    let mut slot = operation_hash(id) as usize & (len - 1);
    for _ in 0..len {
        let at = usize::from(api.index[slot].checked_sub(1)?);
        if api.operations[at].id == id {
            return Some(at);
        }
        slot = (slot + 1) & (len - 1);
    }
    None
}

/// The xtask lays each index out with its own copy of the hash; were the two to differ,
/// lookups would fall back to binary search (still right, no longer fast). Every operation
/// must be reached through the index, in a few probes.
#[test]
fn every_operation_is_found_through_its_index() {
    for api in TABLES {
        let len = api.index.len();
        assert!(
            len.is_power_of_two() && len >= 2 * api.operations.len(),
            "{}: an index of {len} slots for {} operations",
            api.api,
            api.operations.len()
        );
        for (position, op) in api.operations.iter().enumerate() {
            assert_eq!(
                probe(api, op.id),
                Some(position),
                "{}: `{}` is not reached through the index",
                api.api,
                op.id
            );
            assert!(std::ptr::eq(api.operation(op.id).unwrap(), op));
        }
        let filled = api.index.iter().filter(|slot| **slot != 0).count();
        assert_eq!(filled, api.operations.len(), "{}", api.api);
    }
}

#[test]
fn unknown_operations_are_not_found() {
    for api in TABLES {
        assert!(api.operation("no_such_operation").is_none());
        assert!(api.operation("").is_none());
        // Close to a real id is not it.
        let real = api.operations[0].id;
        assert!(api.operation(&format!("{real}_")).is_none());
        assert!(api.operation(&real.to_uppercase()).is_none());
    }
}

/// A table without an index (or with a broken one) is still searched correctly.
#[test]
fn a_table_without_a_working_index_falls_back_to_binary_search() {
    let api = &ejento_platform::SECURITY;
    let without = ApiSecurity { index: &[], ..*api };
    // Every slot pointing at the first operation: wrong for every other id.
    let broken_slots: &'static [u16] = Box::leak(vec![1u16; api.index.len()].into_boxed_slice());
    let broken = ApiSecurity {
        index: broken_slots,
        ..*api
    };
    for op in api.operations {
        assert_eq!(without.operation(op.id).map(|o| o.id), Some(op.id));
        assert_eq!(broken.operation(op.id).map(|o| o.id), Some(op.id));
    }
    assert!(broken.operation("no_such_operation").is_none());
}
