"""The counter's writes, by subject: scan (a scanned code becomes a customer), checkout (a sale for a scan),
refunds (refunds, and a pending sale completed or cancelled) and fraud (flags raised after sales)."""
