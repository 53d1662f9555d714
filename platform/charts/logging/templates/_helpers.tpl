{{/* The chart name, or nameOverride. */}}
{{- define "logging.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The resource name prefix. Truncated at 63 characters because some Kubernetes name fields are
limited to that (DNS-1123 labels).
*/}}
{{- define "logging.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "logging.selectorLabels" -}}
app.kubernetes.io/name: {{ include "logging.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "logging.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "logging.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: stormcheck
{{- end -}}

{{/* repository:tag, or repository@digest when a digest is pinned. Argument: an image value. */}}
{{- define "logging.image" -}}
{{- if .digest -}}
{{- printf "%s@%s" .repository .digest -}}
{{- else -}}
{{- printf "%s:%s" .repository .tag -}}
{{- end -}}
{{- end -}}

{{/* The index template, read through the link to the one source file. */}}
{{- define "logging.indexTemplate" -}}
{{- $text := .Files.Get "files/index-template.json" -}}
{{- if not $text -}}
{{- fail "files/index-template.json is empty or missing: it must link to platform/observability/logs/index-template.json" -}}
{{- end -}}
{{- $text -}}
{{- end -}}

{{- define "logging.opensearchUrl" -}}
{{- printf "%s://%s:%d" (ternary "https" "http" .Values.opensearch.tls.enabled) .Values.opensearch.host (int .Values.opensearch.port) -}}
{{- end -}}
