//! Generation silences progenitor's panics (they become problems) without disturbing the
//! process's panic hook: concurrent generations (as parallel tests run them) must leave the
//! hook that was installed before them in place, or later test failures would print nothing.
//! Its own test binary, because it installs a panic hook.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use xtask::codegen;
use xtask::spec::Spec;
use xtask::systems::System;

#[test]
fn concurrent_generation_keeps_the_panic_hook() {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&calls);
    std::panic::set_hook(Box::new(move |_| {
        seen.fetch_add(1, Ordering::SeqCst);
    }));

    let file = "xtask/tests/fixtures/panic/success_shapes.yaml";
    let bytes = std::fs::read(xtask::workspace_root().expect("workspace root").join(file))
        .expect("fixture exists");
    let spec = Spec::parse(file, bytes).expect("fixture parses");
    let system = System {
        name: "panic",
        spec: file,
        output: "unused/generated.rs",
    };
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for _ in 0..10 {
                    let problems = codegen::generate(&system, &spec).expect_err("it panics");
                    assert_eq!(problems.len(), 2);
                }
            });
        }
    });
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "progenitor's own panics must not reach the hook"
    );

    let _ = std::panic::catch_unwind(|| panic!("a test failure"));
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "after generation the previously installed hook must still see panics"
    );
    drop(std::panic::take_hook());
}
