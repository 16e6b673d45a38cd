"""A task for the worker tests only: each run writes one row (which task, which worker process)
in a table the test created, so that the test counts how many times each task ran."""
import os
import time

from django.db import connection
from django_tasks import task


@task()
def record_run(number, pause=0.02):
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO faults_task_runs (number, pid) VALUES (%s, %s)",
                       [number, os.getpid()])
    time.sleep(pause)  # long enough for the other workers to be polling meanwhile
    return number
