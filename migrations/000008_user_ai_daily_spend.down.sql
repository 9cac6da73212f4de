DROP TABLE user_ai_daily_spend;
