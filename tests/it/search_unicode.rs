//! Every search box takes any Unicode: names with accents, currency signs and
//! curly apostrophes are searched for (never a 500), and found where they are stored.

use plotcare::domain::Role;
use reqwest::StatusCode;

use crate::{common::TestApp, tickets};

/// Words people type that are more than one byte per character in UTF-8.
const WORDS: [&str; 5] = ["Müller", "Sánchez", "€50", "’s", "T-€"];

fn encoded(q: &str) -> String {
    url::form_urlencoded::byte_serialize(q.as_bytes()).collect()
}

#[tokio::test]
async fn every_search_box_takes_accents_currency_signs_and_curly_apostrophes() {
    // Arrange: a ticket, a scheme and a contact whose text holds those words.
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let client = app.sign_in(&staff).await;
    let site = tickets::site(&app, &acme, "Sánchez Fields", "7", "LS1 4AB").await;
    tickets::log_ticket(
        &client,
        site.plot,
        &[("title", "Mrs Müller’s tap: €50 washer")],
    )
    .await;
    let contact = client
        .post_form(
            "/contacts/new",
            &[
                ("kind", "homeowner"),
                ("name", "Zoë Müller-Sánchez"),
                ("emails", "zoe@example.com"),
                ("phones", "07700 900123"),
                ("preferred_contact_method", "phone"),
                ("address", ""),
                ("notes", ""),
            ],
        )
        .await;
    assert_eq!(contact.status(), StatusCode::SEE_OTHER);

    // Act and assert: each box answers every word with a page, never a 500.
    for path in ["/tickets", "/plots", "/schemes", "/contacts"] {
        for word in WORDS {
            let (status, body) = client.page(&format!("{path}?q={}", encoded(word))).await;
            assert_eq!(status, StatusCode::OK, "{path}?q={word}: {body}");
        }
    }

    // And what was searched for is found.
    for word in ["Müller", "€50", "’s"] {
        let (_, body) = client.page(&format!("/tickets?q={}", encoded(word))).await;
        assert!(
            body.contains("Mrs Müller’s tap"),
            "/tickets?q={word} finds the ticket"
        );
    }
    let (_, body) = client
        .page(&format!("/schemes?q={}", encoded("Sánchez")))
        .await;
    assert!(body.contains("Sánchez Fields"), "the scheme is found");
    let (_, body) = client
        .page(&format!("/contacts?q={}", encoded("Müller")))
        .await;
    assert!(body.contains("Zoë Müller-Sánchez"), "the contact is found");
    let (_, body) = client
        .page(&format!("/tickets?q={}", encoded("müller")))
        .await;
    assert!(body.contains("Mrs Müller’s tap"), "in any case");
}
