//! The images the real node runs, built by `tools/build-images.sh` (never pulled: no
//! registry is reachable) and imported into our containerd when missing or stale.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

use super::containerd::{NAMESPACE, ctr};
use crate::versions::{repo_root, version};

/// Where the images claim to come from; nothing serves it, so a typo cannot pull.
pub const REGISTRY: &str = "pinot-operator.local";

/// The Pinot image: the official image's interface (`/opt/pinot`, `bin/pinot-admin.sh`
/// as entrypoint, `etc/conf/pinot-<role>-log4j2.xml`, uid 1000) with the cached jars.
pub fn pinot_image() -> String {
    format!("{REGISTRY}/pinot:{}", version("PINOT_VERSION"))
}

/// The same files under another tag and digest: "the new version" in upgrade tests.
pub fn pinot_next_image() -> String {
    format!("{}-next", pinot_image())
}

/// ZooKeeper with `zkServer.sh --config <dir> start-foreground` on the PATH and the
/// AdminServer (HTTP `/commands/ruok` on 8080), as the operator's managed pods expect.
pub fn zookeeper_image() -> String {
    format!("{REGISTRY}/zookeeper:{}", version("ZOOKEEPER_VERSION"))
}

/// The built OCI layout: which images it holds, by name and manifest digest.
pub struct ImageLayout {
    dir: PathBuf,
    images: Vec<(String, String)>,
}

impl ImageLayout {
    /// The layout for the current inputs, or an error naming the script that builds it.
    pub fn locate() -> anyhow::Result<ImageLayout> {
        let dir = build_images_script(&["--list"])
            .context("the real node's images are not built: run tools/build-images.sh")?;
        ImageLayout::at(dir)
    }

    /// The OCI layout in `dir`.
    pub fn at(dir: PathBuf) -> anyhow::Result<ImageLayout> {
        let images = read_index(&dir)?;
        Ok(ImageLayout { dir, images })
    }

    /// Names of the images it holds.
    pub fn names(&self) -> Vec<String> {
        self.images.iter().map(|(name, _)| name.clone()).collect()
    }

    /// The pause image's name (its tag is a hash of its inputs).
    pub fn sandbox_image(&self) -> anyhow::Result<&str> {
        let prefix = format!("{REGISTRY}/pause:");
        self.images
            .iter()
            .map(|(name, _)| name.as_str())
            .find(|name| name.starts_with(&prefix))
            .context("the image layout has no pause image")
    }

    /// Imports the layout unless containerd already has every image at its digest.
    /// Returns whether it imported.
    pub fn import_if_needed(&self, socket: &Path) -> anyhow::Result<bool> {
        let present = ctr(socket, &["images", "ls"])?;
        let missing = self.images.iter().any(|(name, digest)| {
            !present.lines().any(|line| {
                let mut columns = line.split_whitespace();
                columns.next() == Some(name.as_str()) && columns.nth(1) == Some(digest.as_str())
            })
        });
        if missing {
            self.import(socket)?;
        }
        Ok(missing)
    }

    /// `tar -c <layout> | ctr images import -`: containerd stores and unpacks it; the
    /// blobs are hard links in the cache, so nothing is copied twice on disk.
    fn import(&self, socket: &Path) -> anyhow::Result<()> {
        let address = socket.to_str().context("socket path is not UTF-8")?;
        let script = format!(
            "set -o pipefail; tar -C '{}' -cf - . | ctr --address '{address}' --namespace {NAMESPACE} \
             images import --all-platforms -",
            self.dir.display()
        );
        super::host::run("bash", &["-c", &script]).context("import the real node's images")?;
        Ok(())
    }
}

/// The layout holding `pinot-operator.local/pinot-operator:<hash>` built from the
/// operator binary at `binary` (the Dockerfile's layout; see `tools/build-images.sh
/// --operator`). Cached by the binary's hash.
pub fn operator_image_layout(binary: &Path) -> anyhow::Result<PathBuf> {
    let binary = binary.to_str().context("the binary's path is not UTF-8")?;
    build_images_script(&["--operator", binary])
}

/// Runs `tools/build-images.sh <args>` and returns the directory it prints.
fn build_images_script(args: &[&str]) -> anyhow::Result<PathBuf> {
    let script = repo_root().join("tools/build-images.sh");
    let output = Command::new("bash")
        .arg(&script)
        .args(args)
        .stderr(Stdio::piped())
        .output()
        .with_context(|| format!("run {} {}", script.display(), args.join(" ")))?;
    if !output.status.success() {
        bail!(
            "{} {}: {}",
            script.display(),
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(PathBuf::from(
        String::from_utf8_lossy(&output.stdout).trim(),
    ))
}

/// (name, manifest digest) of every image in `<dir>/index.json`.
fn read_index(dir: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let path = dir.join("index.json");
    let index: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&path).with_context(|| format!("read {}", path.display()))?,
    )?;
    let manifests = index["manifests"]
        .as_array()
        .context("index.json has no manifests")?;
    manifests
        .iter()
        .map(|m| {
            let name = m["annotations"]["io.containerd.image.name"].as_str();
            let digest = m["digest"].as_str();
            match (name, digest) {
                (Some(n), Some(d)) => Ok((n.to_owned(), d.to_owned())),
                _ => bail!("index.json: a manifest without a name or digest"),
            }
        })
        .collect()
}
