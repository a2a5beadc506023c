-- The webhook receiver's inbox writers.

-- step: configure_session
SELECT set_config('statement_timeout', %s, false), set_config('application_name', %s, false);
