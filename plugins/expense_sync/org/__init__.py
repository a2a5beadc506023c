"""The daily org sync: OA → middle platform → expense system (OA is master)."""
