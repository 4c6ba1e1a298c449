"""What a user reads: the daily report and error notifications (workflow_messages.py), the P&L
report (pnl_messages.py), and the number, date and subject formatting they share (formatting.py)."""
