"""PostgreSQL backend that starts the embedded server on the first connection."""

from pathlib import Path

from django.db.backends.postgresql import base

from loyalty_site import embedded_db


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self):
        server = embedded_db.ensure_server(Path(self.settings_dict["DATA_DIR"]))
        params = super().get_connection_params()
        params.update(host=server.host, port=server.port, user=server.user)
        return params
