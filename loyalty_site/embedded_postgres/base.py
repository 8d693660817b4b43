"""PostgreSQL backend that starts the embedded server on the first connection.

It connects as the settings' ROLE ("app": the runtime role loyalty_app, "owner": loyalty_owner; see
LOYALTY_DB_ROLE in loyalty_site/settings/base.py) with that role's password from the data directory.
With REPLICA set, it connects as the runtime role to the streaming replica of that data directory (`make
replica`) and starts nothing.
"""

from pathlib import Path

from django.db.backends.postgresql import base

from loyalty_site import embedded_db

ROLE_NAMES = {"app": embedded_db.APP, "owner": embedded_db.OWNER}


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self):
        if self.settings_dict.get("REPLICA"):  # the embedded server's replica (make replica): never started here
            params = super().get_connection_params()
            params.update(embedded_db.replica_server(Path(self.settings_dict["DATA_DIR"])).login(embedded_db.APP))
            return params
        server = embedded_db.ensure_server(Path(self.settings_dict["DATA_DIR"]))
        params = super().get_connection_params()
        params.update(server.login(ROLE_NAMES[self.settings_dict.get("ROLE", "app")]))
        return params

    def backup_login(self) -> dict:
        """The user and password base backups connect with (the REPLICATION role)."""
        server = embedded_db.ensure_server(Path(self.settings_dict["DATA_DIR"]))
        login = server.login(embedded_db.BACKUP)
        return {"user": login["user"], "password": login["password"]}
