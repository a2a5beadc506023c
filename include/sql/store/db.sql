-- Set-based loading helpers.

-- step: copy_in
COPY {table} ({columns}) FROM STDIN;
