-- Arithmetic the engine's models share, as macros of this connection.
-- A fraction (numerator / denominator) of some hours, rounded down to the hundredth: 1/3 of 25 h is 8.33.
-- Whole ten-thousandths in integers, so nothing is rounded on the way; null where the fraction is null.
create or replace temp macro fraction_of_hours(hours, numerator, denominator) as
    (cast(hours * 10000 as bigint) * numerator // (denominator * 100)) * 0.01::decimal(3, 2);

-- Whole months from date a to a later date b: less one where b's day of month is before a's.
create or replace temp macro whole_months(a, b) as
    12 * (year(b) - year(a)) + (month(b) - month(a)) - case when day(b) < day(a) then 1 else 0 end;
