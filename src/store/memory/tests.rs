//! Behaviour of `MemoryStore` that only it has.

use super::*;

/// A subscriber that falls behind loses payloads, and is told so with a `Gap` before the
/// next payload it gets.
#[tokio::test]
async fn a_full_inbox_reports_a_gap() {
    let store = MemoryStore::new(Lifetimes::default());
    let mut rx = store.subscribe("n1").await.unwrap();
    let total = INBOX_CAPACITY as u32 + 5;
    for i in 0..total {
        store.publish("n1", i.to_be_bytes().to_vec()).await.unwrap();
    }
    for i in 0..INBOX_CAPACITY as u32 {
        assert_eq!(
            rx.recv().await,
            Some(InboxEvent::Message(i.to_be_bytes().to_vec()))
        );
    }
    assert!(rx.try_recv().is_err(), "the overflow was dropped");
    store.publish("n1", b"next".to_vec()).await.unwrap();
    assert_eq!(rx.recv().await, Some(InboxEvent::Gap));
    assert_eq!(rx.recv().await, Some(InboxEvent::Message(b"next".to_vec())));
}
