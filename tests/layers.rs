//! Image layers we make ourselves, registered with `POST /images/load`, against a real engine.

mod common;

use std::io::Write;
use std::time::Duration;

use common::TestRun;
use harnessgym::sandbox::{Digesting, ExecSpec, LayerFile, LoadRequest, Role};

/// A layer tar at `path` with `entries` (name, contents; a trailing `/` makes a directory).
fn layer(path: &std::path::Path, entries: &[(&str, &str)]) -> String {
    let file = std::fs::File::create(path).expect("create layer");
    let mut digesting = Digesting::new(std::io::BufWriter::new(file));
    {
        let mut builder = tar::Builder::new(&mut digesting);
        for (name, contents) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_uid(1000);
            header.set_gid(1000);
            header.set_mtime(0);
            if name.ends_with('/') {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(0o755);
                header.set_size(0);
                builder
                    .append_data(&mut header, name, std::io::empty())
                    .expect("dir");
            } else {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(0o644);
                header.set_size(contents.len() as u64);
                builder
                    .append_data(&mut header, name, contents.as_bytes())
                    .expect("file");
            }
        }
        builder.finish().expect("finish");
    }
    let (mut writer, digest, _) = digesting.finish();
    writer.flush().expect("flush");
    digest
}

#[tokio::test]
async fn a_partial_archive_stacks_one_layer_on_its_parent_with_whiteouts() {
    let t = TestRun::new("load-partial").await;
    let labels = t.engine.labels(&t.run, Role::Test);
    assert!(
        t.engine
            .probe_partial_load(common::BASE, &labels)
            .await
            .expect("probe"),
        "the classic image store accepts partial archives"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let base = t.engine.image_config(common::BASE).await.expect("config");
    let first = dir.path().join("first.tar");
    let first_id = layer(
        &first,
        &[
            ("workspace/", ""),
            ("workspace/keep.txt", "kept\n"),
            ("workspace/gone.txt", "gone\n"),
            ("workspace/dir/", ""),
            ("workspace/dir/old", "old\n"),
        ],
    );
    let config = base.child(&first_id, "test layer 1", &labels);
    let tag = format!("harnessgym/snapshot:{}-one", t.run);
    let layers = [LayerFile {
        diff_id: first_id,
        path: first,
    }];
    let one = t
        .engine
        .load_image(&LoadRequest {
            config: &config,
            tag: &tag,
            layers: &layers,
        })
        .await
        .expect("load first");
    let second = dir.path().join("second.tar");
    let second_id = layer(
        &second,
        &[
            ("workspace/", ""),
            ("workspace/.wh.gone.txt", ""),
            ("workspace/dir/", ""),
            ("workspace/dir/.wh..wh..opq", ""),
            ("workspace/dir/new", "new\n"),
        ],
    );
    let child = config.child(&second_id, "test layer 2", &labels);
    let tag2 = format!("harnessgym/snapshot:{}-two", t.run);
    let layers = [LayerFile {
        diff_id: second_id,
        path: second,
    }];
    let two = t
        .engine
        .load_image(&LoadRequest {
            config: &child,
            tag: &tag2,
            layers: &layers,
        })
        .await
        .expect("load second");
    assert_ne!(one, two);
    let mut spec = t.spec();
    spec.image = two;
    let c = t
        .engine
        .create_container(&spec, &t.run, Role::Test)
        .await
        .expect("create");
    c.start().await.expect("start");
    let out = c
        .exec(&ExecSpec::shell(
            "cd /workspace && find . | sort && id -un && pwd",
            Duration::from_secs(20),
        ))
        .await
        .expect("exec");
    assert_eq!(
        out.stdout.text(),
        ".\n./dir\n./dir/new\n./keep.txt\nagent\n/workspace\n",
        "the parent's user and working directory, the first layer's files, the second's \
         whiteouts and opaque directory"
    );
    c.remove().await.expect("remove");
    t.cleanup().await;
}
