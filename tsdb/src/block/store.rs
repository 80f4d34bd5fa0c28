//! Where blocks live: an [`ObjectStore`] (local filesystem by default), with
//! durable writes on the local filesystem (file and directory fsync) so that
//! the WAL can be truncated safely once a block is written.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjPath;
use object_store::{ObjectStore, ObjectStoreExt};

use super::{BlockError, io};

/// The block store.
#[derive(Debug, Clone)]
pub struct BlockStore {
    store: Arc<dyn ObjectStore>,
    /// Set when the store is this local directory: writes are fsynced.
    local_root: Option<PathBuf>,
}

impl BlockStore {
    /// A store on the local filesystem rooted at `root`.
    pub fn local(root: &Path) -> Result<Self, BlockError> {
        std::fs::create_dir_all(root.join("blocks")).map_err(io(root))?;
        let root = root.canonicalize().map_err(io(root))?;
        Ok(Self {
            store: Arc::new(LocalFileSystem::new_with_prefix(&root)?),
            local_root: Some(root),
        })
    }

    /// Any object store (S3, in-memory for tests). Puts on such stores are
    /// durable when they return.
    pub fn remote(store: Arc<dyn ObjectStore>) -> Self {
        Self {
            store,
            local_root: None,
        }
    }

    /// The underlying object store.
    pub fn object_store(&self) -> Arc<dyn ObjectStore> {
        self.store.clone()
    }

    /// Writes `bytes` at `path` durably (atomic rename, fsync on local disks).
    pub async fn put(&self, path: &str, bytes: Bytes) -> Result<(), BlockError> {
        match &self.local_root {
            Some(root) => {
                let full = root.join(path);
                let dir = full
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| root.clone());
                tokio::task::spawn_blocking(move || -> Result<(), BlockError> {
                    use std::io::Write;
                    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
                    let tmp = full.with_extension("tmp");
                    let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
                    f.write_all(&bytes).map_err(io(&tmp))?;
                    f.sync_all().map_err(io(&tmp))?;
                    std::fs::rename(&tmp, &full).map_err(io(&full))?;
                    std::fs::File::open(&dir)
                        .and_then(|d| d.sync_all())
                        .map_err(io(&dir))?;
                    Ok(())
                })
                .await
                .map_err(|e| BlockError::Io {
                    path: path.to_string(),
                    source: std::io::Error::other(e),
                })?
            }
            None => {
                self.store.put(&ObjPath::from(path), bytes.into()).await?;
                Ok(())
            }
        }
    }

    /// Publishes a block staged in the local directory `staging` (holding
    /// `data.parquet` and `series.parquet`, fsynced): moves or uploads the
    /// files, then writes `meta.json` durably, which commits the block.
    pub async fn publish(&self, staging: &Path, meta: &super::BlockMeta) -> Result<(), BlockError> {
        let prefix = format!("blocks/{}", meta.id);
        let meta_json = serde_json::to_vec_pretty(meta).map_err(|e| BlockError::Invalid {
            id: meta.id.clone(),
            message: e.to_string(),
        })?;
        match &self.local_root {
            Some(root) => {
                let dir = root.join(&prefix);
                let staging = staging.to_path_buf();
                let d2 = dir.clone();
                tokio::task::spawn_blocking(move || -> Result<(), BlockError> {
                    if d2.exists() {
                        std::fs::remove_dir_all(&d2).map_err(io(&d2))?;
                    }
                    std::fs::rename(&staging, &d2).map_err(io(&d2))?;
                    let blocks = d2.parent().unwrap_or(&d2).to_path_buf();
                    std::fs::File::open(&blocks)
                        .and_then(|d| d.sync_all())
                        .map_err(io(&blocks))?;
                    Ok(())
                })
                .await
                .map_err(|e| BlockError::Io {
                    path: dir.display().to_string(),
                    source: std::io::Error::other(e),
                })??;
            }
            None => {
                for name in ["data.parquet", "series.parquet"] {
                    let p = staging.join(name);
                    let bytes = tokio::fs::read(&p).await.map_err(io(&p))?;
                    self.store
                        .put(
                            &ObjPath::from(format!("{prefix}/{name}")),
                            Bytes::from(bytes).into(),
                        )
                        .await?;
                }
                let _ = tokio::fs::remove_dir_all(staging).await;
            }
        }
        self.put(&format!("{prefix}/meta.json"), Bytes::from(meta_json))
            .await
    }

    /// Reads a whole object.
    pub async fn get(&self, path: &str) -> Result<Bytes, BlockError> {
        Ok(self.store.get(&ObjPath::from(path)).await?.bytes().await?)
    }

    /// Ids of the block directories under `blocks/`, and whether each has a `meta.json`.
    pub async fn list_blocks(&self) -> Result<Vec<(String, bool)>, BlockError> {
        let mut found: std::collections::BTreeMap<String, bool> = Default::default();
        let mut stream = self.store.list(Some(&ObjPath::from("blocks")));
        while let Some(o) = stream.try_next().await? {
            let parts: Vec<_> = o.location.parts().map(|p| p.as_ref().to_string()).collect();
            if parts.len() == 3 && parts[0] == "blocks" {
                let e = found.entry(parts[1].clone()).or_insert(false);
                *e |= parts[2] == "meta.json";
            }
        }
        Ok(found.into_iter().collect())
    }

    /// Deletes a block directory (meta first, so a half-deleted block is
    /// seen as unfinished and cleaned on the next start).
    pub async fn delete_block(&self, id: &str) -> Result<(), BlockError> {
        let prefix = format!("blocks/{id}");
        for name in [
            "meta.json",
            "data.parquet",
            "series.parquet",
            "data.tmp",
            "series.tmp",
            "meta.tmp",
        ] {
            match self
                .store
                .delete(&ObjPath::from(format!("{prefix}/{name}")))
                .await
            {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        if let Some(root) = &self.local_root {
            let dir = root.join(&prefix);
            match std::fs::remove_dir_all(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(&dir)(e)),
            }
        }
        Ok(())
    }
}
