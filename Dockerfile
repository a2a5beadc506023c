# expense-sync: Airflow's official image plus the pinned requirements. docker-compose.yaml builds it.
#
# The tag is the official image for Python 3.11, the version requirements.txt is pinned for.
# Naming apache-airflow again, at the image's version, keeps pip from ever moving the image's Airflow.
ARG AIRFLOW_VERSION=3.3.2
ARG PYTHON_VERSION=3.11
FROM apache/airflow:${AIRFLOW_VERSION}-python${PYTHON_VERSION}
ARG AIRFLOW_VERSION

# Pango and a Chinese font for the auditors' pack as PDF (WeasyPrint), built by expense_rollup_monthly.
USER root
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
       libpango-1.0-0 libpangoft2-1.0-0 fonts-wqy-microhei \
    && apt-get clean && rm -rf /var/lib/apt/lists/*
USER airflow

COPY --chown=airflow:root requirements.txt /requirements.txt
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" -r /requirements.txt

# The project, so the image runs on its own; docker-compose.yaml mounts the same folders over these.
COPY --chown=airflow:root dags/ /opt/airflow/dags/
COPY --chown=airflow:root plugins/ /opt/airflow/plugins/
COPY --chown=airflow:root include/ /opt/airflow/include/
COPY --chown=airflow:root great_expectations/ /opt/airflow/great_expectations/
ENV PYTHONPATH=/opt/airflow/plugins
