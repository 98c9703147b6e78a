"""The Infrastructure pane: hosts from Prometheus (node exporter metrics) and the scaling triggers."""
