"""Several App Store Connect teams in one install: each account's key, data and webhook token.

- `keys.py`: reads and checks a `.p8` key, stores it encrypted (`encryption.py`).
- `choose.py`: the accounts a command works on (`--account NAME`, default every one with a key).
- `data.py`: what an account owns, and deleting it with the account.
- `webhook_tokens.py`: each account's own webhook token, kept as a hash.

Who may read an account's data is decided in `models/accounts.py` (`visible_to`); the client
an account syncs with is built in `connection.py`.
"""
