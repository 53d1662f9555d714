{{- define "monitoring.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "monitoring.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "monitoring.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: stormcheck
{{- end -}}

{{/*
platform/observability/alertmanager/alertmanager.yml (through the link) with what differs on a
cluster: the templates' folder (the operator puts the Secret's keys in /etc/alertmanager/config/),
the webhook URL, and the path of the mounted Slack secret. Routes, receivers' kinds, inhibitions
and timings stay as they are.
*/}}
{{- define "monitoring.alertmanagerConfig" -}}
{{- $text := .Files.Get "files/alertmanager.yml" -}}
{{- if not $text -}}
{{- fail "files/alertmanager.yml is empty or missing: it must link to platform/observability/alertmanager/alertmanager.yml" -}}
{{- end -}}
{{- $config := $text | fromYaml -}}
{{- if hasKey $config "Error" -}}
{{- fail (printf "files/alertmanager.yml: not YAML: %s" $config.Error) -}}
{{- end -}}
{{- $am := .Values.alertmanager -}}
{{- $_ := set $config "templates" (list "/etc/alertmanager/config/*.tmpl") -}}
{{- range $receiver := $config.receivers -}}
{{- range $hook := $receiver.webhook_configs | default list -}}
{{- $_ := set $hook "url" $am.webhookUrl -}}
{{- end -}}
{{- range $slack := $receiver.slack_configs | default list -}}
{{- $_ := set $slack "api_url_file" (printf "/etc/alertmanager/secrets/%s/%s" $am.slackSecret.name $am.slackSecret.key) -}}
{{- end -}}
{{- end -}}
{{- toYaml $config -}}
{{- end -}}
