"""The smart-eldercare dashboard (static HTML/JS/CSS served by the API) and the Grafana dashboards."""
