"""Running checked expressions: compiled into SQL (formula fields, filters) or evaluated
on a record being written (validation rules, workflow conditions), with one meaning."""
