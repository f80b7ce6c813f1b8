"""The catalogue job as Spark users submit one: this file is spark-submit's main, and the wheel rides along.

    unzip -p sdss_tfx-0.1.0-py3-none-any.whl inference/drivers/spark_submit.py > sdss_classify.py
    PYSPARK_PYTHON=/path/to/python3.10 spark-submit --master spark://HOST:7077 \
        --properties-file spark-auth.conf --py-files sdss_tfx-0.1.0-py3-none-any.whl \
        sdss_classify.py --records 'hdfs:///survey/*.tfrecord.gz' --model-dir /models/V --out hdfs:///results/classified

It takes `sdss-classify-catalog`'s flags, always runs the Spark engine, and uses the master, the secret and every
other setting that spark-submit was given (--master, --spark-secret-file, --spark-conf and --engine are refused
here). Spark puts the wheel first on the path of the driver and of every Python worker (zipimport: the package is
pure Python), so the job runs the submitted code even where another version is installed. The wheel carries our
code only: every worker's Python (PYSPARK_PYTHON, 3.10) needs the pinned dependencies (requirements.lock), as the
Docker image has them.
"""

import sys

import runtime_env  # noqa: F401 - the process environment, before TensorFlow loads

from inference.catalog import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], submitted=True))
