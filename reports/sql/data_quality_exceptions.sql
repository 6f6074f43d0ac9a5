select source_file, source_row::integer as source_row, "check", "column", value, message, action
from data_quality_exceptions
