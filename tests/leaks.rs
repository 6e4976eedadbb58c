//! Run after the whole suite by `make test`: no test may leave a labelled object behind.
//!
//! Ignored in a plain `cargo test` because it must run last; `make test` runs it explicitly
//! once every other test has finished.

use harnessgym::sandbox::{Engine, labels, resolve_host};

#[tokio::test]
#[ignore = "run by `make test` after the rest of the suite"]
async fn no_test_object_is_left_after_the_suite() {
    let engine = Engine::connect(&resolve_host(None)).await.expect("engine");
    let containers = engine
        .list_containers_labelled(labels::RUN, None)
        .await
        .expect("list");
    let images = engine
        .list_images_labelled(labels::RUN, None)
        .await
        .expect("list");
    let is_test = |l: &std::collections::HashMap<String, String>| {
        l.get(labels::RUN)
            .is_some_and(|run| run.starts_with("test-"))
    };
    let left_containers: Vec<&String> = containers
        .iter()
        .filter(|(_, l)| is_test(l))
        .map(|(id, _)| id)
        .collect();
    let left_images: Vec<&String> = images
        .iter()
        .filter(|i| is_test(&i.labels))
        .map(|i| &i.id)
        .collect();
    assert!(
        left_containers.is_empty(),
        "containers left by tests: {left_containers:?}"
    );
    assert!(
        left_images.is_empty(),
        "images left by tests: {left_images:?}"
    );
}
