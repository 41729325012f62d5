"""The local Apache Kafka broker: a real single-node KRaft broker run from Maven jars."""
