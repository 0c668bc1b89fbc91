//! Load shedding: past a high mark new documents are refused everywhere, while existing ones
//! open, sync and edit normally.

use std::io::Write;

use crate::client::Client;
use crate::server::TestServer;

const FORM: [(&str, &str); 1] = [("Content-Type", "application/x-www-form-urlencoded")];

/// A config file closing creation past one live document, for good (the hold is an hour).
fn config_file() -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().expect("temp file");
    writeln!(
        f,
        "[shedding]\nrooms_high = 1\nrooms_low = 0\nhold_secs = 3600\n\n\
         [[trusted_hosts]]\nname = \"Partner pads\"\nurl = \"https://partner.example/p/{{name}}\"\nweight = 1"
    )
    .expect("write");
    f
}

#[tokio::test]
async fn past_the_high_mark_new_documents_get_503_and_existing_ones_work() {
    let file = config_file();
    let path = file.path().to_str().expect("utf-8 path");
    let server = TestServer::builder()
        .args(&["--config", path, "--shedding-mode", "auto"])
        .start()
        .await;
    // Two live documents: one above the mark.
    let mut a = Client::connect(&server, "existing").await;
    a.insert(0, "before").await;
    a.barrier().await;
    let mut other = Client::connect(&server, "second").await;
    other.insert(0, "x").await;
    other.barrier().await;
    server
        .wait_log("creation closing", |l| {
            l.contains("creation of new documents closed")
        })
        .await;

    let page = server
        .request("GET", "/p/brand-new", &[("Accept-Language", "en")], "")
        .await;
    assert_eq!(page.status, 503);
    assert_eq!(page.header("retry-after"), Some("60"));
    assert!(
        page.body.contains("Partner pads")
            && page.body.contains("https://partner.example/p/brand-new")
    );
    let form = server
        .request("POST", "/new", &FORM, "name=another-new&keep=30")
        .await;
    assert_eq!(form.status, 503);
    let response = server.refused_upgrade("never-seen").await;
    assert_eq!(response.status(), 503);
    let home = server.get("/?lang=en").await.1;
    assert!(
        home.contains("new pads are paused"),
        "the home page says so"
    );

    // Existing documents: pages, reconnections and edits from two clients all work.
    assert_eq!(server.get("/p/existing").await.0, 200);
    let mut b = Client::connect(&server, "existing").await;
    assert_eq!(b.text(), "before");
    b.insert(6, " and after").await;
    a.until("b's edit", |c| c.text() == "before and after")
        .await;

    let metrics = server.get("/metrics").await.1;
    assert!(metrics.contains("ardoise_creation_open 0"), "{metrics}");
    let refused = metrics
        .lines()
        .find(|l| l.starts_with("ardoise_refusals_total{reason=\"creation_closed\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<f64>().ok())
        .expect("refusal counter");
    assert!(refused >= 3.0, "{refused} refusals counted");

    let elsewhere = server
        .request("GET", "/elsewhere?name=brand-new", &[], "")
        .await;
    assert_eq!(elsewhere.status, 303);
    assert_eq!(
        elsewhere.header("location"),
        Some("https://partner.example/p/brand-new")
    );
}

#[tokio::test]
async fn metrics_and_readiness_answer() {
    let server = TestServer::start().await;
    assert_eq!(server.get("/readyz").await, (200, "ready".into()));
    let mut c = Client::connect(&server, "counted").await;
    c.barrier().await;
    let metrics = server.get("/metrics").await.1;
    for line in [
        "ardoise_creation_open 1",
        "ardoise_rooms 1",
        "ardoise_connections 1",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "missing {line:?} in\n{metrics}"
        );
    }
    assert!(metrics.contains("ardoise_admission_signal{signal=\"memory_mib\"}"));
    assert!(
        metrics.trim_end().ends_with("# EOF"),
        "OpenMetrics text ends with # EOF"
    );
}
