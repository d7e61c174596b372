"""Orders: order records, history, status changes, cancellation with refund."""
