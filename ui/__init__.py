"""What the pages share. The only package besides ``pages/`` that imports streamlit."""
