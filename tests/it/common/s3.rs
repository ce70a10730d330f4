//! An S3-protocol server for tests: s3s-fs on a temporary directory, served
//! over HTTP on its own loopback port, with static keys and one bucket.

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::conn::auto::Builder as ConnBuilder,
};
use plotcare::media::{MIN_PART_SIZE, MediaStore};

/// The part size the test store uploads in: S3's smallest, so several parts stay cheap.
pub const PART_SIZE: usize = MIN_PART_SIZE;
use s3s::{auth::SimpleAuth, service::S3ServiceBuilder};
use tempfile::TempDir;

pub const ACCESS_KEY: &str = "plotcare-test-access";
pub const SECRET_KEY: &str = "plotcare-test-secret-key-0123456789";

pub struct S3Server {
    /// e.g. "http://127.0.0.1:41234"
    pub endpoint: String,
    pub bucket: String,
    /// A media store on this server's bucket.
    pub store: MediaStore,
    /// The SDK client the store uses (for looking behind the store in assertions).
    pub client: aws_sdk_s3::Client,
    _dir: TempDir,
    server: tokio::task::JoinHandle<()>,
}

impl S3Server {
    pub async fn start() -> S3Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let service = {
            let fs = s3s_fs::FileSystem::new(dir.path()).expect("s3s-fs root");
            let mut builder = S3ServiceBuilder::new(fs);
            builder.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
            builder.build()
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            let http = ConnBuilder::new(TokioExecutor::new());
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                let connection = http
                    .serve_connection(TokioIo::new(socket), service.clone())
                    .into_owned();
                tokio::spawn(async move {
                    let _ = connection.await;
                });
            }
        });

        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .credentials_provider(Credentials::new(
                ACCESS_KEY,
                SECRET_KEY,
                None,
                None,
                "plotcare-tests",
            ))
            .region(Region::new("eu-west-1"))
            .endpoint_url(&endpoint)
            .force_path_style(true)
            .build();
        let client = aws_sdk_s3::Client::from_conf(config);
        let bucket = "plotcare-media".to_owned();
        client
            .create_bucket()
            .bucket(&bucket)
            .send()
            .await
            .expect("create bucket");
        let store = MediaStore::S3 {
            client: client.clone(),
            bucket: bucket.clone(),
            part_size: PART_SIZE,
        };
        S3Server {
            endpoint,
            bucket,
            store,
            client,
            _dir: dir,
            server,
        }
    }
}

impl S3Server {
    /// Multipart uploads the server still holds (s3s-fs keeps `.upload-*` and
    /// `.upload_id-*` files until an upload completes or is aborted; it has no
    /// list_multipart_uploads).
    pub fn unfinished_uploads(&self) -> Vec<String> {
        std::fs::read_dir(self._dir.path())
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|name| name.starts_with(".upload"))
            .collect()
    }

    /// Every object key in the bucket.
    pub async fn keys(&self) -> Vec<String> {
        let listed = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .send()
            .await
            .expect("list objects");
        listed
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_owned))
            .collect()
    }

    /// Waits (up to 5 s) for a spawned abort to remove what an upload left.
    pub async fn wait_until_no_unfinished_uploads(&self) -> Vec<String> {
        for _ in 0..50 {
            if self.unfinished_uploads().is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        self.unfinished_uploads()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.server.abort();
    }
}
